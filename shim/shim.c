/* The orthanc_sdk shim: an Orthanc plugin that runs a Python plugin script.
 *
 * At initialization it checks the Orthanc version, makes libpython's symbols
 * global, starts the interpreter that orthanc_sdk was installed into (its
 * virtual environment included), and hands the context to
 * orthanc_sdk._host, which loads the script.  The GIL is then released:
 * Orthanc calls the Python callbacks from its own threads, and cffi takes
 * the GIL in each.  Only the four plugin entry points are exported.
 *
 * Copyright (C) the orthanc_sdk authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <stdio.h>

#include <orthanc/OrthancCPlugin.h>

#include "invoke_guard.h"

#ifndef ORTHANC_SDK_PYTHON
#error "ORTHANC_SDK_PYTHON (the Python executable to embed) must be defined"
#endif

#define SHIM_NAME "orthanc-sdk"
#define SHIM_VERSION "0.1.0"

static OrthancPluginContext *context_ = NULL;
/* The main thread's state while the GIL is released; NULL when Python is
 * not running. */
static PyThreadState *saved_state_ = NULL;

static void
log_error(const char *format, const char *detail)
{
    char message[1024];

    snprintf(message, sizeof(message), format, detail);
    OrthancPluginLogError(context_, message);
}

/* Orthanc loads plugins with RTLD_LOCAL, so libpython's symbols, pulled in
 * as our dependency, are invisible to the extension modules that Python
 * loads later ("undefined symbol: PyExc_..." for numpy, _ctypes, cffi
 * modules).  Loading the same library again with RTLD_GLOBAL promotes them;
 * the handle is kept for the life of the process. */
static int
make_libpython_global(void)
{
    Dl_info info;
    void *handle;

    if (dladdr((void *)&Py_InitializeFromConfig, &info) == 0 ||
        info.dli_fname == NULL) {
        log_error("orthanc_sdk: cannot locate libpython%s", "");
        return -1;
    }
    handle = dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
    if (handle == NULL) {
        log_error("orthanc_sdk: cannot make libpython global: %s", dlerror());
        return -1;
    }
    return 0;
}

static int
check_status(PyStatus status, PyConfig *config)
{
    if (!PyStatus_Exception(status)) {
        return 0;
    }
    log_error("orthanc_sdk: cannot start Python: %s",
              status.err_msg != NULL ? status.err_msg : "unknown error");
    PyConfig_Clear(config);
    return -1;
}

/* program_name is the installed environment's own python: Python computes
 * sys.prefix from it, finds the venv's pyvenv.cfg and site-packages, and
 * sets sys.executable to it, so subprocess and multiprocessing's spawn
 * start a real Python, not Orthanc. */
static int
start_python(void)
{
    PyConfig config;

    PyConfig_InitPythonConfig(&config);
    /* Orthanc owns SIGINT and SIGTERM. */
    config.install_signal_handlers = 0;
    /* print() reaches Orthanc's stdout at once, even if the process ends
     * without finalizing Python. */
    config.buffered_stdio = 0;
    config.parse_argv = 0;
    if (check_status(PyConfig_SetBytesString(&config, &config.program_name,
                                             ORTHANC_SDK_PYTHON),
                     &config) < 0) {
        return -1;
    }
    if (check_status(Py_InitializeFromConfig(&config), &config) < 0) {
        return -1;
    }
    PyConfig_Clear(&config);
    return 0;
}

/* Call orthanc_sdk._host.<name>(*args) and return its int result, or -1. */
static long
call_host(const char *name, PyObject *args)
{
    PyObject *module = NULL, *function = NULL, *result = NULL;
    long value = -1;

    if (args == NULL) {
        goto error;
    }
    module = PyImport_ImportModule("orthanc_sdk._host");
    if (module == NULL) {
        goto error;
    }
    function = PyObject_GetAttrString(module, name);
    if (function == NULL) {
        goto error;
    }
    result = PyObject_CallObject(function, args);
    if (result == NULL) {
        goto error;
    }
    value = PyLong_AsLong(result);
    if (value == -1 && PyErr_Occurred()) {
        goto error;
    }
    goto done;

error:
    log_error("orthanc_sdk: orthanc_sdk._host.%s failed (traceback on "
              "stderr)", name);
    PyErr_Print();
    value = -1;
done:
    Py_XDECREF(result);
    Py_XDECREF(function);
    Py_XDECREF(module);
    Py_XDECREF(args);
    return value;
}

ORTHANC_PLUGINS_API int32_t
OrthancPluginInitialize(OrthancPluginContext *context)
{
    long result;

    context_ = context;
    if (!OrthancPluginCheckVersion(context)) {
        char message[256];
        snprintf(message, sizeof(message),
                 "orthanc_sdk: this Orthanc (%s) is older than the SDK the "
                 "plugin was built with (%d.%d.%d)",
                 context->orthancVersion,
                 ORTHANC_PLUGINS_MINIMAL_MAJOR_NUMBER,
                 ORTHANC_PLUGINS_MINIMAL_MINOR_NUMBER,
                 ORTHANC_PLUGINS_MINIMAL_REVISION_NUMBER);
        OrthancPluginLogError(context, message);
        return -1;
    }
    OrthancPluginSetDescription(
        context, "Runs Orthanc plugins written in Python (orthanc_sdk)");

    if (Py_IsInitialized()) {
        OrthancPluginLogError(context,
                              "orthanc_sdk: another plugin already runs a "
                              "Python interpreter in this process");
        return -1;
    }
    if (make_libpython_global() < 0 || start_python() < 0) {
        return -1;
    }

    /* Python calls the SDK through a context whose InvokeService does not
     * let C++ exceptions out (invoke_guard.cpp). */
    result = call_host(
        "initialize",
        Py_BuildValue("(N)",
                      PyLong_FromVoidPtr(orthanc_sdk_guarded_context(context))));
    saved_state_ = PyEval_SaveThread();
    return result == 0 ? 0 : -1;
}

ORTHANC_PLUGINS_API void
OrthancPluginFinalize(void)
{
    long finalizable;

    if (saved_state_ == NULL) {
        return;
    }
    PyEval_RestoreThread(saved_state_);
    saved_state_ = NULL;
    finalizable = call_host("finalize", PyTuple_New(0));
    if (finalizable == 1) {
        if (Py_FinalizeEx() < 0) {
            OrthancPluginLogError(context_,
                                  "orthanc_sdk: Python finalization failed");
        }
    } else {
        /* Threads of the plugin still run: Py_FinalizeEx would wait for
         * them forever.  Leave Python to the process's exit. */
        PyEval_SaveThread();
    }
}

ORTHANC_PLUGINS_API const char *
OrthancPluginGetName(void)
{
    return SHIM_NAME;
}

ORTHANC_PLUGINS_API const char *
OrthancPluginGetVersion(void)
{
    return SHIM_VERSION;
}
