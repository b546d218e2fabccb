/* The one piece of the shim in C++: a context whose InvokeService catches.
 *
 * Orthanc 1.10's InvokeService turns the core's OrthancException into an
 * error code, but lets other C++ exceptions out: GET /patients?since=x
 * throws boost::bad_lexical_cast.  Out of a plugin's SDK call, such an
 * exception would unwind through cffi's and Python's C frames, which
 * cannot be unwound: their cleanup never runs (locks stay taken, the call
 * guard's count never comes down) and the thread's interpreter state
 * points into a dead stack.  Python is handed a copy of Orthanc's context
 * whose InvokeService calls the real one and turns any exception into an
 * error code, as Orthanc's HTTP server does (a bad cast is a bad parameter
 * type).
 *
 * Copyright (C) the orthanc_sdk authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <orthanc/OrthancCPlugin.h>

#include <cstdio>
#include <exception>
#include <typeinfo>

#include "invoke_guard.h"

static OrthancPluginContext *core_ = NULL;
static OrthancPluginContext guarded_;

/* The code alone would not say what went wrong: the exception's text goes
 * to Orthanc's log. */
static void
log_exception(_OrthancPluginService service, const char *what)
{
    char message[1024];

    snprintf(message, sizeof(message),
             "orthanc_sdk: the core threw a C++ exception in service %d: %s",
             (int)service, what);
    try {
        OrthancPluginLogError(core_, message);
    } catch (...) {
    }
}

static OrthancPluginErrorCode
guarded_invoke(OrthancPluginContext *context, _OrthancPluginService service,
               const void *params)
{
    (void)context;
    try {
        return core_->InvokeService(core_, service, params);
    } catch (const std::bad_cast &error) {
        log_exception(service, error.what());
        return OrthancPluginErrorCode_BadParameterType;
    } catch (const std::exception &error) {
        log_exception(service, error.what());
        return OrthancPluginErrorCode_InternalError;
    } catch (...) {
        log_exception(service, "not a std::exception");
        return OrthancPluginErrorCode_InternalError;
    }
}

extern "C" OrthancPluginContext *
orthanc_sdk_guarded_context(OrthancPluginContext *context)
{
    core_ = context;
    guarded_ = *context;
    guarded_.InvokeService = guarded_invoke;
    return &guarded_;
}
