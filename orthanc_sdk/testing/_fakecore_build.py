# SPDX-License-Identifier: GPL-3.0-or-later
"""cffi builder for ``orthanc_sdk.testing._fakecore_cffi``, the fake core.

Built by ``pip install`` with the package's own module (``setup.py``), from
the same SDK header.  Parameter structs are declared partially (``...;``)
and service numbers as ``= ...``: the compiler lays them out from the
header, so the fake reads exactly what a real core would.
"""

import os
import runpy

import cffi

HERE = os.path.dirname(os.path.abspath(__file__))

#: The services the fake core answers; any other is refused the way Orthanc
#: refuses a service it does not know (UnknownPluginService).
SERVICES = (
    "LogInfo",
    "LogWarning",
    "LogError",
    "GetConfiguration",
    "GetConfigurationPath",
    "GetGlobalProperty",
    "SetGlobalProperty",
    "GetErrorDescription",
    "GenerateRestApiAuthorizationToken",
    "GetDicomForInstance",
    "RestApiGet",
    "RestApiGetAfterPlugins",
    "RestApiGet2",
    "RestApiPost",
    "RestApiPostAfterPlugins",
    "RestApiPut",
    "RestApiPutAfterPlugins",
    "RestApiDelete",
    "RestApiDeleteAfterPlugins",
    "CallRestApi",
    "LookupPatient",
    "LookupStudy",
    "LookupStudyWithAccessionNumber",
    "LookupSeries",
    "LookupInstance",
    "RegisterRestCallback",
    "RegisterRestCallbackNoLock",
    "RegisterOnChangeCallback",
    "AnswerBuffer",
    "SendHttpStatus",
    "SendHttpStatusCode",
    "SetHttpHeader",
    "SendUnauthorized",
    "SendMethodNotAllowed",
    "Redirect",
)

_SERVICE_ENUM = "\n".join(
    f"    _OrthancPluginService_{name} = ...," for name in SERVICES
)

CDEF = (
    r"""
#define ORTHANC_PLUGINS_MINIMAL_MAJOR_NUMBER ...
#define ORTHANC_PLUGINS_MINIMAL_MINOR_NUMBER ...
#define ORTHANC_PLUGINS_MINIMAL_REVISION_NUMBER ...

typedef enum {
    OrthancPluginErrorCode_InternalError = ...,
    OrthancPluginErrorCode_Success = ...,
    OrthancPluginErrorCode_UnknownPluginService = ...,
    ...
} OrthancPluginErrorCode;

typedef enum {
    OrthancPluginHttpMethod_Get = ...,
    OrthancPluginHttpMethod_Post = ...,
    OrthancPluginHttpMethod_Put = ...,
    OrthancPluginHttpMethod_Delete = ...,
    ...
} OrthancPluginHttpMethod;

typedef enum {
"""
    + _SERVICE_ENUM
    + r"""
    ...
} _OrthancPluginService;

typedef struct {
    void *data;
    uint32_t size;
    ...;
} OrthancPluginMemoryBuffer;

typedef struct _OrthancPluginContext_t {
    void *pluginsManager;
    const char *orthancVersion;
    void (*Free)(void *buffer);
    OrthancPluginErrorCode (*InvokeService)(
        struct _OrthancPluginContext_t *context,
        _OrthancPluginService service,
        const void *params);
    ...;
} OrthancPluginContext;

typedef struct {
    const char **target;
    OrthancPluginErrorCode error;
    ...;
} _OrthancPluginGetErrorDescription;

typedef struct {
    char **result;
    const char *argument;
    ...;
} _OrthancPluginRetrieveDynamicString;

typedef struct {
    char **result;
    int32_t property;
    const char *value;
    ...;
} _OrthancPluginGlobalProperty;

typedef struct {
    OrthancPluginMemoryBuffer *target;
    const char *instanceId;
    ...;
} _OrthancPluginGetDicomForInstance;

typedef struct {
    OrthancPluginMemoryBuffer *target;
    const char *uri;
    ...;
} _OrthancPluginRestApiGet;

typedef struct {
    OrthancPluginMemoryBuffer *target;
    const char *uri;
    uint32_t headersCount;
    const char *const *headersKeys;
    const char *const *headersValues;
    int32_t afterPlugins;
    ...;
} _OrthancPluginRestApiGet2;

typedef struct {
    OrthancPluginMemoryBuffer *target;
    const char *uri;
    const void *body;
    uint32_t bodySize;
    ...;
} _OrthancPluginRestApiPostPut;

typedef struct {
    OrthancPluginMemoryBuffer *answerBody;
    OrthancPluginMemoryBuffer *answerHeaders;
    uint16_t *httpStatus;
    OrthancPluginHttpMethod method;
    const char *uri;
    uint32_t headersCount;
    const char *const *headersKeys;
    const char *const *headersValues;
    const void *body;
    uint32_t bodySize;
    uint8_t afterPlugins;
    ...;
} _OrthancPluginCallRestApi;

/* Routes: what registering one passes, what a call to one carries, and
   the services with which a route answers. */
typedef struct _OrthancPluginRestOutput_t OrthancPluginRestOutput;

typedef struct {
    OrthancPluginHttpMethod method;
    uint32_t groupsCount;
    const char *const *groups;
    uint32_t getCount;
    const char *const *getKeys;
    const char *const *getValues;
    const void *body;
    uint32_t bodySize;
    uint32_t headersCount;
    const char *const *headersKeys;
    const char *const *headersValues;
    ...;
} OrthancPluginHttpRequest;

typedef OrthancPluginErrorCode (*OrthancPluginRestCallback)(
    OrthancPluginRestOutput *output,
    const char *url,
    const OrthancPluginHttpRequest *request);

typedef struct {
    const char *pathRegularExpression;
    OrthancPluginRestCallback callback;
    ...;
} _OrthancPluginRestCallback;

typedef struct {
    OrthancPluginRestOutput *output;
    const void *answer;
    uint32_t answerSize;
    const char *mimeType;
    ...;
} _OrthancPluginAnswerBuffer;

typedef struct {
    OrthancPluginRestOutput *output;
    uint16_t status;
    const char *body;
    uint32_t bodySize;
    ...;
} _OrthancPluginSendHttpStatus;

typedef struct {
    OrthancPluginRestOutput *output;
    uint16_t status;
    ...;
} _OrthancPluginSendHttpStatusCode;

typedef struct {
    OrthancPluginRestOutput *output;
    const char *key;
    const char *value;
    ...;
} _OrthancPluginSetHttpHeader;

typedef struct {
    OrthancPluginRestOutput *output;
    const char *argument;
    ...;
} _OrthancPluginOutputPlusArgument;

void *malloc(size_t size);
void free(void *pointer);

extern "Python" OrthancPluginErrorCode _fakecore_invoke_service(
    OrthancPluginContext *context,
    _OrthancPluginService service,
    const void *params);
extern "Python" void _fakecore_free(void *pointer);
"""
)

SOURCE = r"""
#include <stdlib.h>
#include <orthanc/OrthancCPlugin.h>
"""

# The package's builder finds the SDK header (or says which package to
# install); it is run, not imported: this file runs outside the package.
_include_dirs = runpy.run_path(
    os.path.join(os.path.dirname(HERE), "_build.py")
)["include_dirs"]

ffibuilder = cffi.FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "orthanc_sdk.testing._fakecore_cffi",
    SOURCE,
    include_dirs=_include_dirs(),
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
