/* The C declarations that cffi compiles against <orthanc/OrthancCPlugin.h>.
 *
 * The SDK is header-only: every OrthancPlugin* function is a static inline
 * wrapper that fills a parameter struct and calls context->InvokeService.
 * cffi's out-of-line API mode turns each prototype below into a real C
 * function that calls the header's inline one, so the service numbers and
 * parameter structs are the header's own.  "= ..." and "...;" leave values
 * and layouts to the compiler, which rejects a declaration that does not
 * match the header.
 *
 * Order: version, types, enums, the "Orthanc" group, memory, then what the
 * plugin host needs (logging, REST answers, callbacks), then the few
 * OrthancSdk* helpers that are not in the SDK (see _build.py).
 */

/* ---- The SDK version this module was compiled against ------------------ */

#define ORTHANC_PLUGINS_MINIMAL_MAJOR_NUMBER ...
#define ORTHANC_PLUGINS_MINIMAL_MINOR_NUMBER ...
#define ORTHANC_PLUGINS_MINIMAL_REVISION_NUMBER ...


/* ---- Enums ------------------------------------------------------------- */

/* Signed: InternalError is -1.  Only the codes of the oldest supported SDK
 * (1.10.1) are named here; newer cores may answer others, which the Python
 * tier reports through OrthancPluginGetErrorDescription. */
typedef enum {
    OrthancPluginErrorCode_InternalError = ...,
    OrthancPluginErrorCode_Success = ...,
    OrthancPluginErrorCode_Plugin = ...,
    OrthancPluginErrorCode_NotImplemented = ...,
    OrthancPluginErrorCode_ParameterOutOfRange = ...,
    OrthancPluginErrorCode_NotEnoughMemory = ...,
    OrthancPluginErrorCode_BadParameterType = ...,
    OrthancPluginErrorCode_BadSequenceOfCalls = ...,
    OrthancPluginErrorCode_InexistentItem = ...,
    OrthancPluginErrorCode_BadRequest = ...,
    OrthancPluginErrorCode_NetworkProtocol = ...,
    OrthancPluginErrorCode_SystemCommand = ...,
    OrthancPluginErrorCode_Database = ...,
    OrthancPluginErrorCode_UriSyntax = ...,
    OrthancPluginErrorCode_InexistentFile = ...,
    OrthancPluginErrorCode_CannotWriteFile = ...,
    OrthancPluginErrorCode_BadFileFormat = ...,
    OrthancPluginErrorCode_Timeout = ...,
    OrthancPluginErrorCode_UnknownResource = ...,
    OrthancPluginErrorCode_IncompatibleDatabaseVersion = ...,
    OrthancPluginErrorCode_FullStorage = ...,
    OrthancPluginErrorCode_CorruptedFile = ...,
    OrthancPluginErrorCode_InexistentTag = ...,
    OrthancPluginErrorCode_ReadOnly = ...,
    OrthancPluginErrorCode_IncompatibleImageFormat = ...,
    OrthancPluginErrorCode_IncompatibleImageSize = ...,
    OrthancPluginErrorCode_SharedLibrary = ...,
    OrthancPluginErrorCode_UnknownPluginService = ...,
    OrthancPluginErrorCode_UnknownDicomTag = ...,
    OrthancPluginErrorCode_BadJson = ...,
    OrthancPluginErrorCode_Unauthorized = ...,
    OrthancPluginErrorCode_BadFont = ...,
    OrthancPluginErrorCode_DatabasePlugin = ...,
    OrthancPluginErrorCode_StorageAreaPlugin = ...,
    OrthancPluginErrorCode_EmptyRequest = ...,
    OrthancPluginErrorCode_NotAcceptable = ...,
    OrthancPluginErrorCode_NullPointer = ...,
    OrthancPluginErrorCode_DatabaseUnavailable = ...,
    OrthancPluginErrorCode_CanceledJob = ...,
    OrthancPluginErrorCode_BadGeometry = ...,
    OrthancPluginErrorCode_SslInitialization = ...,
    OrthancPluginErrorCode_DiscontinuedAbi = ...,
    OrthancPluginErrorCode_BadRange = ...,
    OrthancPluginErrorCode_DatabaseCannotSerialize = ...,
    OrthancPluginErrorCode_Revision = ...,
    OrthancPluginErrorCode_SQLiteNotOpened = ...,
    OrthancPluginErrorCode_SQLiteAlreadyOpened = ...,
    OrthancPluginErrorCode_SQLiteCannotOpen = ...,
    OrthancPluginErrorCode_SQLiteStatementAlreadyUsed = ...,
    OrthancPluginErrorCode_SQLiteExecute = ...,
    OrthancPluginErrorCode_SQLiteRollbackWithoutTransaction = ...,
    OrthancPluginErrorCode_SQLiteCommitWithoutTransaction = ...,
    OrthancPluginErrorCode_SQLiteRegisterFunction = ...,
    OrthancPluginErrorCode_SQLiteFlush = ...,
    OrthancPluginErrorCode_SQLiteCannotRun = ...,
    OrthancPluginErrorCode_SQLiteCannotStep = ...,
    OrthancPluginErrorCode_SQLiteBindOutOfRange = ...,
    OrthancPluginErrorCode_SQLitePrepareStatement = ...,
    OrthancPluginErrorCode_SQLiteTransactionAlreadyStarted = ...,
    OrthancPluginErrorCode_SQLiteTransactionCommit = ...,
    OrthancPluginErrorCode_SQLiteTransactionBegin = ...,
    OrthancPluginErrorCode_DirectoryOverFile = ...,
    OrthancPluginErrorCode_FileStorageCannotWrite = ...,
    OrthancPluginErrorCode_DirectoryExpected = ...,
    OrthancPluginErrorCode_HttpPortInUse = ...,
    OrthancPluginErrorCode_DicomPortInUse = ...,
    OrthancPluginErrorCode_BadHttpStatusInRest = ...,
    OrthancPluginErrorCode_RegularFileExpected = ...,
    OrthancPluginErrorCode_PathToExecutable = ...,
    OrthancPluginErrorCode_MakeDirectory = ...,
    OrthancPluginErrorCode_BadApplicationEntityTitle = ...,
    OrthancPluginErrorCode_NoCFindHandler = ...,
    OrthancPluginErrorCode_NoCMoveHandler = ...,
    OrthancPluginErrorCode_NoCStoreHandler = ...,
    OrthancPluginErrorCode_NoApplicationEntityFilter = ...,
    OrthancPluginErrorCode_NoSopClassOrInstance = ...,
    OrthancPluginErrorCode_NoPresentationContext = ...,
    OrthancPluginErrorCode_DicomFindUnavailable = ...,
    OrthancPluginErrorCode_DicomMoveUnavailable = ...,
    OrthancPluginErrorCode_CannotStoreInstance = ...,
    OrthancPluginErrorCode_CreateDicomNotString = ...,
    OrthancPluginErrorCode_CreateDicomOverrideTag = ...,
    OrthancPluginErrorCode_CreateDicomUseContent = ...,
    OrthancPluginErrorCode_CreateDicomNoPayload = ...,
    OrthancPluginErrorCode_CreateDicomUseDataUriScheme = ...,
    OrthancPluginErrorCode_CreateDicomBadParent = ...,
    OrthancPluginErrorCode_CreateDicomParentIsInstance = ...,
    OrthancPluginErrorCode_CreateDicomParentEncoding = ...,
    OrthancPluginErrorCode_UnknownModality = ...,
    OrthancPluginErrorCode_BadJobOrdering = ...,
    OrthancPluginErrorCode_JsonToLuaTable = ...,
    OrthancPluginErrorCode_CannotCreateLua = ...,
    OrthancPluginErrorCode_CannotExecuteLua = ...,
    OrthancPluginErrorCode_LuaAlreadyExecuted = ...,
    OrthancPluginErrorCode_LuaBadOutput = ...,
    OrthancPluginErrorCode_NotLuaPredicate = ...,
    OrthancPluginErrorCode_LuaReturnsNoString = ...,
    OrthancPluginErrorCode_StorageAreaAlreadyRegistered = ...,
    OrthancPluginErrorCode_DatabaseBackendAlreadyRegistered = ...,
    OrthancPluginErrorCode_DatabaseNotInitialized = ...,
    OrthancPluginErrorCode_SslDisabled = ...,
    OrthancPluginErrorCode_CannotOrderSlices = ...,
    OrthancPluginErrorCode_NoWorklistHandler = ...,
    OrthancPluginErrorCode_AlreadyExistingTag = ...,
    OrthancPluginErrorCode_NoStorageCommitmentHandler = ...,
    OrthancPluginErrorCode_NoCGetHandler = ...,
    OrthancPluginErrorCode_UnsupportedMediaType = ...,
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
    OrthancPluginResourceType_Patient = ...,
    OrthancPluginResourceType_Study = ...,
    OrthancPluginResourceType_Series = ...,
    OrthancPluginResourceType_Instance = ...,
    OrthancPluginResourceType_None = ...,
    ...
} OrthancPluginResourceType;

typedef enum {
    OrthancPluginChangeType_CompletedSeries = ...,
    OrthancPluginChangeType_Deleted = ...,
    OrthancPluginChangeType_NewChildInstance = ...,
    OrthancPluginChangeType_NewInstance = ...,
    OrthancPluginChangeType_NewPatient = ...,
    OrthancPluginChangeType_NewSeries = ...,
    OrthancPluginChangeType_NewStudy = ...,
    OrthancPluginChangeType_StablePatient = ...,
    OrthancPluginChangeType_StableSeries = ...,
    OrthancPluginChangeType_StableStudy = ...,
    OrthancPluginChangeType_OrthancStarted = ...,
    OrthancPluginChangeType_OrthancStopped = ...,
    OrthancPluginChangeType_UpdatedAttachment = ...,
    OrthancPluginChangeType_UpdatedMetadata = ...,
    OrthancPluginChangeType_UpdatedPeers = ...,
    OrthancPluginChangeType_UpdatedModalities = ...,
    OrthancPluginChangeType_JobSubmitted = ...,
    OrthancPluginChangeType_JobSuccess = ...,
    OrthancPluginChangeType_JobFailure = ...,
    ...
} OrthancPluginChangeType;

/* The service numbers stay the header's business; only the type is named,
 * so that the context's InvokeService pointer can be declared. */
typedef int... _OrthancPluginService;


/* ---- Types ------------------------------------------------------------- */

typedef void (*OrthancPluginFree)(void *buffer);

typedef struct _OrthancPluginContext_t {
    void *pluginsManager;
    const char *orthancVersion;
    OrthancPluginFree Free;
    OrthancPluginErrorCode (*InvokeService)(
        struct _OrthancPluginContext_t *context,
        _OrthancPluginService service,
        const void *params);
} OrthancPluginContext;

/* Sizes are uint32_t throughout the SDK: 4 GiB and more cannot travel. */
typedef struct {
    void *data;
    uint32_t size;
} OrthancPluginMemoryBuffer;

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

typedef OrthancPluginErrorCode (*OrthancPluginOnChangeCallback)(
    OrthancPluginChangeType changeType,
    OrthancPluginResourceType resourceType,
    const char *resourceId);


/* ---- The "Orthanc" group ----------------------------------------------- */

OrthancPluginErrorCode OrthancPluginGetDicomForInstance(
    OrthancPluginContext *context,
    OrthancPluginMemoryBuffer *target,
    const char *instanceId);

OrthancPluginErrorCode OrthancPluginRestApiGet(
    OrthancPluginContext *context,
    OrthancPluginMemoryBuffer *target,
    const char *uri);

OrthancPluginErrorCode OrthancPluginRestApiGetAfterPlugins(
    OrthancPluginContext *context,
    OrthancPluginMemoryBuffer *target,
    const char *uri);

OrthancPluginErrorCode OrthancPluginRestApiGet2(
    OrthancPluginContext *context,
    OrthancPluginMemoryBuffer *target,
    const char *uri,
    uint32_t headersCount,
    const char *const *headersKeys,
    const char *const *headersValues,
    int32_t afterPlugins);

OrthancPluginErrorCode OrthancPluginRestApiPost(
    OrthancPluginContext *context,
    OrthancPluginMemoryBuffer *target,
    const char *uri,
    const void *body,
    uint32_t bodySize);

OrthancPluginErrorCode OrthancPluginRestApiPostAfterPlugins(
    OrthancPluginContext *context,
    OrthancPluginMemoryBuffer *target,
    const char *uri,
    const void *body,
    uint32_t bodySize);

OrthancPluginErrorCode OrthancPluginRestApiPut(
    OrthancPluginContext *context,
    OrthancPluginMemoryBuffer *target,
    const char *uri,
    const void *body,
    uint32_t bodySize);

OrthancPluginErrorCode OrthancPluginRestApiPutAfterPlugins(
    OrthancPluginContext *context,
    OrthancPluginMemoryBuffer *target,
    const char *uri,
    const void *body,
    uint32_t bodySize);

OrthancPluginErrorCode OrthancPluginRestApiDelete(
    OrthancPluginContext *context,
    const char *uri);

OrthancPluginErrorCode OrthancPluginRestApiDeleteAfterPlugins(
    OrthancPluginContext *context,
    const char *uri);

OrthancPluginErrorCode OrthancPluginCallRestApi(
    OrthancPluginContext *context,
    OrthancPluginMemoryBuffer *answerBody,
    OrthancPluginMemoryBuffer *answerHeaders,
    uint16_t *httpStatus,
    OrthancPluginHttpMethod method,
    const char *uri,
    uint32_t headersCount,
    const char *const *headersKeys,
    const char *const *headersValues,
    const void *body,
    uint32_t bodySize,
    uint8_t afterPlugins);

char *OrthancPluginLookupPatient(
    OrthancPluginContext *context,
    const char *patientID);

char *OrthancPluginLookupStudy(
    OrthancPluginContext *context,
    const char *studyUID);

char *OrthancPluginLookupStudyWithAccessionNumber(
    OrthancPluginContext *context,
    const char *accessionNumber);

char *OrthancPluginLookupSeries(
    OrthancPluginContext *context,
    const char *seriesUID);

char *OrthancPluginLookupInstance(
    OrthancPluginContext *context,
    const char *sopInstanceUID);

char *OrthancPluginGetGlobalProperty(
    OrthancPluginContext *context,
    int32_t property,
    const char *defaultValue);

OrthancPluginErrorCode OrthancPluginSetGlobalProperty(
    OrthancPluginContext *context,
    int32_t property,
    const char *value);

char *OrthancPluginGenerateRestApiAuthorizationToken(
    OrthancPluginContext *context);


/* ---- Memory ------------------------------------------------------------ */

void OrthancPluginFreeString(OrthancPluginContext *context, char *str);

void OrthancPluginFreeMemoryBuffer(
    OrthancPluginContext *context,
    OrthancPluginMemoryBuffer *buffer);


/* ---- What the plugin host needs ---------------------------------------- */

int OrthancPluginCheckVersion(OrthancPluginContext *context);

const char *OrthancPluginGetErrorDescription(
    OrthancPluginContext *context,
    OrthancPluginErrorCode error);

char *OrthancPluginGetConfiguration(OrthancPluginContext *context);

char *OrthancPluginGetConfigurationPath(OrthancPluginContext *context);

void OrthancPluginLogError(OrthancPluginContext *context, const char *message);
void OrthancPluginLogWarning(
    OrthancPluginContext *context,
    const char *message);
void OrthancPluginLogInfo(OrthancPluginContext *context, const char *message);

void OrthancPluginRegisterRestCallback(
    OrthancPluginContext *context,
    const char *pathRegularExpression,
    OrthancPluginRestCallback callback);

void OrthancPluginRegisterRestCallbackNoLock(
    OrthancPluginContext *context,
    const char *pathRegularExpression,
    OrthancPluginRestCallback callback);

void OrthancPluginRegisterOnChangeCallback(
    OrthancPluginContext *context,
    OrthancPluginOnChangeCallback callback);

void OrthancPluginAnswerBuffer(
    OrthancPluginContext *context,
    OrthancPluginRestOutput *output,
    const void *answer,
    uint32_t answerSize,
    const char *mimeType);

void OrthancPluginSendHttpStatus(
    OrthancPluginContext *context,
    OrthancPluginRestOutput *output,
    uint16_t status,
    const char *body,
    uint32_t bodySize);

void OrthancPluginSendHttpStatusCode(
    OrthancPluginContext *context,
    OrthancPluginRestOutput *output,
    uint16_t status);

void OrthancPluginSendUnauthorized(
    OrthancPluginContext *context,
    OrthancPluginRestOutput *output,
    const char *realm);

void OrthancPluginSendMethodNotAllowed(
    OrthancPluginContext *context,
    OrthancPluginRestOutput *output,
    const char *allowedMethods);

void OrthancPluginRedirect(
    OrthancPluginContext *context,
    OrthancPluginRestOutput *output,
    const char *redirection);

void OrthancPluginSetHttpHeader(
    OrthancPluginContext *context,
    OrthancPluginRestOutput *output,
    const char *key,
    const char *value);


/* ---- OrthancSdk* helpers (not in the SDK; defined in _build.py) -------- */

/* The SDK's lookups, GetGlobalProperty and the token return NULL for every
 * failure and drop the code that InvokeService gave.  These call the same
 * service with the same parameter struct, and return that code; on success
 * *result holds a string to free with OrthancPluginFreeString. */
OrthancPluginErrorCode OrthancSdkLookupPatient(
    OrthancPluginContext *context, const char *patientID, char **result);
OrthancPluginErrorCode OrthancSdkLookupStudy(
    OrthancPluginContext *context, const char *studyUID, char **result);
OrthancPluginErrorCode OrthancSdkLookupStudyWithAccessionNumber(
    OrthancPluginContext *context, const char *accessionNumber,
    char **result);
OrthancPluginErrorCode OrthancSdkLookupSeries(
    OrthancPluginContext *context, const char *seriesUID, char **result);
OrthancPluginErrorCode OrthancSdkLookupInstance(
    OrthancPluginContext *context, const char *sopInstanceUID,
    char **result);
OrthancPluginErrorCode OrthancSdkGetGlobalProperty(
    OrthancPluginContext *context, int32_t property,
    const char *defaultValue, char **result);
OrthancPluginErrorCode OrthancSdkGenerateRestApiAuthorizationToken(
    OrthancPluginContext *context, char **result);

/* OrthancPluginSendHttpStatus and ...StatusCode, returning the code. */
OrthancPluginErrorCode OrthancSdkSendHttpStatus(
    OrthancPluginContext *context, OrthancPluginRestOutput *output,
    uint16_t status, const char *body, uint32_t bodySize);
OrthancPluginErrorCode OrthancSdkSendHttpStatusCode(
    OrthancPluginContext *context, OrthancPluginRestOutput *output,
    uint16_t status);

/* The hand-off of a route's job to a handler thread (callbacks.py): the
 * caller starts the job and waits (Call) or only starts it (Start); the
 * handler thread waits for a job (Wait), then answers and waits for the
 * next (Return).  Init answers 0, or -1 if sem_init failed.  SetWorker
 * names the handler thread (its native id), which Call then wakes on the
 * caller's CPU.  Linux's semaphores hold no resources: the struct is
 * freed as plain memory. */
typedef struct { ...; } OrthancSdkHandoff;
int OrthancSdkHandoffInit(OrthancSdkHandoff *handoff);
void OrthancSdkHandoffSetWorker(OrthancSdkHandoff *handoff, long worker);
void OrthancSdkHandoffCall(OrthancSdkHandoff *handoff);
void OrthancSdkHandoffStart(OrthancSdkHandoff *handoff);
void OrthancSdkHandoffWait(OrthancSdkHandoff *handoff);
void OrthancSdkHandoffReturn(OrthancSdkHandoff *handoff);

/* The one C callback that all on-change handlers share (host.py). */
extern "Python" OrthancPluginErrorCode _orthanc_sdk_on_change(
    OrthancPluginChangeType, OrthancPluginResourceType, const char *);
