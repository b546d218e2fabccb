"""cffi builder for ``orthanc_sdk._orthanc_sdk_cffi`` (out-of-line API mode).

Run by ``pip install .`` through ``setup.py``; it needs a C compiler and the
SDK header ``orthanc/OrthancCPlugin.h`` (Debian package ``orthanc-dev``).  Set
``ORTHANC_SDK_INCLUDE_DIR`` to build against another copy of the header.
"""

import os
import pathlib

import cffi

HERE = pathlib.Path(__file__).resolve().parent

# The helpers that _cdef.h declares under "OrthancSdk*".  Each one fills the
# header's own parameter struct and calls the header's own service number,
# exactly as the matching inline function does, but returns the error code
# instead of dropping it.
SOURCE = r"""
#include <orthanc/OrthancCPlugin.h>

#define ORTHANC_SDK_STRING_SERVICE(name, service)                        \
    static OrthancPluginErrorCode name(OrthancPluginContext *context,    \
                                       const char *argument,             \
                                       char **result)                    \
    {                                                                    \
        _OrthancPluginRetrieveDynamicString params;                      \
        *result = NULL;                                                  \
        params.result = result;                                          \
        params.argument = argument;                                      \
        return context->InvokeService(context, service, &params);        \
    }

ORTHANC_SDK_STRING_SERVICE(OrthancSdkLookupPatient,
                           _OrthancPluginService_LookupPatient)
ORTHANC_SDK_STRING_SERVICE(OrthancSdkLookupStudy,
                           _OrthancPluginService_LookupStudy)
ORTHANC_SDK_STRING_SERVICE(
    OrthancSdkLookupStudyWithAccessionNumber,
    _OrthancPluginService_LookupStudyWithAccessionNumber)
ORTHANC_SDK_STRING_SERVICE(OrthancSdkLookupSeries,
                           _OrthancPluginService_LookupSeries)
ORTHANC_SDK_STRING_SERVICE(OrthancSdkLookupInstance,
                           _OrthancPluginService_LookupInstance)

static OrthancPluginErrorCode OrthancSdkGenerateRestApiAuthorizationToken(
    OrthancPluginContext *context, char **result)
{
    _OrthancPluginRetrieveDynamicString params;
    *result = NULL;
    params.result = result;
    params.argument = NULL;
    return context->InvokeService(
        context, _OrthancPluginService_GenerateRestApiAuthorizationToken,
        &params);
}

static OrthancPluginErrorCode OrthancSdkGetGlobalProperty(
    OrthancPluginContext *context, int32_t property,
    const char *defaultValue, char **result)
{
    _OrthancPluginGlobalProperty params;
    *result = NULL;
    params.result = result;
    params.property = property;
    params.value = defaultValue;
    return context->InvokeService(
        context, _OrthancPluginService_GetGlobalProperty, &params);
}

/* OrthancPluginSendHttpStatus(Code) drop the code as well: a status that
 * the core has no name for (418, 299...) fails there, and the client then
 * gets no answer at all unless the route reports the failure. */
static OrthancPluginErrorCode OrthancSdkSendHttpStatus(
    OrthancPluginContext *context, OrthancPluginRestOutput *output,
    uint16_t status, const char *body, uint32_t bodySize)
{
    _OrthancPluginSendHttpStatus params;
    params.output = output;
    params.status = status;
    params.body = body;
    params.bodySize = bodySize;
    return context->InvokeService(
        context, _OrthancPluginService_SendHttpStatus, &params);
}

static OrthancPluginErrorCode OrthancSdkSendHttpStatusCode(
    OrthancPluginContext *context, OrthancPluginRestOutput *output,
    uint16_t status)
{
    _OrthancPluginSendHttpStatusCode params;
    params.output = output;
    params.status = status;
    return context->InvokeService(
        context, _OrthancPluginService_SendHttpStatusCode, &params);
}

/* A route's job goes from Orthanc's thread to a handler thread and back
 * (callbacks.py).  Each side posts the other's semaphore and waits on its
 * own in one call, without the GIL: the thread that wakes finds the GIL
 * free instead of waking a second time for it.
 *
 * Waking a thread that sleeps on another CPU costs about 20 us on a VM
 * (the CPU may be halted), against 2 us on the CPU that is about to go
 * idle because the caller waits.  So the caller first moves the handler
 * thread to its own CPU, and the handler thread, once awake, takes back
 * the CPUs it had, so that the scheduler balances the handler as any
 * thread.  Both are hints: a failure changes nothing but the speed. */
#include <errno.h>
#include <sched.h>
#include <semaphore.h>

typedef struct {
    sem_t go;
    sem_t done;
    pid_t worker;
    int pinned;
    cpu_set_t cpus;
} OrthancSdkHandoff;

static void OrthancSdkSemWait(sem_t *semaphore)
{
    while (sem_wait(semaphore) != 0 && errno == EINTR) {
    }
}

static int OrthancSdkHandoffInit(OrthancSdkHandoff *handoff)
{
    handoff->worker = 0;
    handoff->pinned = 0;
    if (sem_init(&handoff->go, 0, 0) != 0) {
        return -1;
    }
    return sem_init(&handoff->done, 0, 0);
}

/* Called once the thread runs, before the first call. */
static void OrthancSdkHandoffSetWorker(OrthancSdkHandoff *handoff,
                                       long worker)
{
    /* Without its CPUs, the handler thread is never moved. */
    if (worker > 0 && sched_getaffinity((pid_t) worker,
                                        sizeof handoff->cpus,
                                        &handoff->cpus) == 0) {
        handoff->worker = (pid_t) worker;
    }
}

static void OrthancSdkHandoffCall(OrthancSdkHandoff *handoff)
{
    if (handoff->worker > 0) {
        int cpu = sched_getcpu();
        if (cpu >= 0 && cpu < CPU_SETSIZE) {
            cpu_set_t here;
            CPU_ZERO(&here);
            CPU_SET(cpu, &here);
            handoff->pinned = sched_setaffinity(handoff->worker,
                                                sizeof here, &here) == 0;
        }
    }
    sem_post(&handoff->go);
    OrthancSdkSemWait(&handoff->done);
}

static void OrthancSdkHandoffStart(OrthancSdkHandoff *handoff)
{
    sem_post(&handoff->go);
}

static void OrthancSdkHandoffUnpin(OrthancSdkHandoff *handoff)
{
    if (handoff->pinned) {
        handoff->pinned = 0;
        sched_setaffinity(0, sizeof handoff->cpus, &handoff->cpus);
    }
}

static void OrthancSdkHandoffWait(OrthancSdkHandoff *handoff)
{
    OrthancSdkSemWait(&handoff->go);
    OrthancSdkHandoffUnpin(handoff);
}

static void OrthancSdkHandoffReturn(OrthancSdkHandoff *handoff)
{
    sem_post(&handoff->done);
    OrthancSdkSemWait(&handoff->go);
    OrthancSdkHandoffUnpin(handoff);
}
"""


HEADER = os.path.join("orthanc", "OrthancCPlugin.h")


def include_dirs() -> list[str]:
    """Where ``orthanc/OrthancCPlugin.h`` is; raises if it is nowhere.

    ``ORTHANC_SDK_INCLUDE_DIR`` first, then the compiler's usual places.
    """
    extra = os.environ.get("ORTHANC_SDK_INCLUDE_DIR")
    candidates = [extra] if extra else []
    candidates += ["/usr/local/include", "/usr/include"]
    for folder in candidates:
        if os.path.isfile(os.path.join(folder, HEADER)):
            return [extra] if extra else []
    raise RuntimeError(
        f"the Orthanc plugin SDK header {HEADER} was not found in"
        f" {', '.join(candidates)}: install the Debian package orthanc-dev"
        " (apt-get install orthanc-dev), or set ORTHANC_SDK_INCLUDE_DIR to"
        " the folder that holds orthanc/OrthancCPlugin.h"
    )


ffibuilder = cffi.FFI()
ffibuilder.cdef((HERE / "_cdef.h").read_text(encoding="utf-8"))
ffibuilder.set_source(
    "orthanc_sdk._orthanc_sdk_cffi",
    SOURCE,
    include_dirs=include_dirs(),
    extra_compile_args=["-O2"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
