/* See invoke_guard.cpp.
 *
 * Copyright (C) the orthanc_sdk authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef ORTHANC_SDK_INVOKE_GUARD_H
#define ORTHANC_SDK_INVOKE_GUARD_H

#include <orthanc/OrthancCPlugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A copy of context whose InvokeService turns C++ exceptions into error
 * codes; it lives as long as the process.  Call it once. */
OrthancPluginContext *orthanc_sdk_guarded_context(
    OrthancPluginContext *context);

#ifdef __cplusplus
}
#endif

#endif
