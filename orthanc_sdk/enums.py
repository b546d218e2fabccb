"""The SDK's enums as Python ``IntEnum`` classes.

Values come from the compiled module, that is from the SDK header itself;
names are the C names without their prefix, in upper snake case
(``OrthancPluginErrorCode_UnknownResource`` is ``ErrorCode.UNKNOWN_RESOURCE``).
The members are spelled out so that editors and type checkers see them;
tests/test_errors.py checks that they match the compiled module one to one.
"""

from __future__ import annotations

import enum

from ._orthanc_sdk_cffi import lib

__all__ = ["ChangeType", "ErrorCode", "HttpMethod", "ResourceType"]


class ErrorCode(enum.IntEnum):
    """``OrthancPluginErrorCode``: the codes of the oldest supported SDK.

    Newer cores may answer codes not listed here; the library then reports
    the plain ``int`` (see :class:`~orthanc_sdk.errors.OrthancError`).
    """

    INTERNAL_ERROR = lib.OrthancPluginErrorCode_InternalError
    SUCCESS = lib.OrthancPluginErrorCode_Success
    PLUGIN = lib.OrthancPluginErrorCode_Plugin
    NOT_IMPLEMENTED = lib.OrthancPluginErrorCode_NotImplemented
    PARAMETER_OUT_OF_RANGE = lib.OrthancPluginErrorCode_ParameterOutOfRange
    NOT_ENOUGH_MEMORY = lib.OrthancPluginErrorCode_NotEnoughMemory
    BAD_PARAMETER_TYPE = lib.OrthancPluginErrorCode_BadParameterType
    BAD_SEQUENCE_OF_CALLS = lib.OrthancPluginErrorCode_BadSequenceOfCalls
    INEXISTENT_ITEM = lib.OrthancPluginErrorCode_InexistentItem
    BAD_REQUEST = lib.OrthancPluginErrorCode_BadRequest
    NETWORK_PROTOCOL = lib.OrthancPluginErrorCode_NetworkProtocol
    SYSTEM_COMMAND = lib.OrthancPluginErrorCode_SystemCommand
    DATABASE = lib.OrthancPluginErrorCode_Database
    URI_SYNTAX = lib.OrthancPluginErrorCode_UriSyntax
    INEXISTENT_FILE = lib.OrthancPluginErrorCode_InexistentFile
    CANNOT_WRITE_FILE = lib.OrthancPluginErrorCode_CannotWriteFile
    BAD_FILE_FORMAT = lib.OrthancPluginErrorCode_BadFileFormat
    TIMEOUT = lib.OrthancPluginErrorCode_Timeout
    UNKNOWN_RESOURCE = lib.OrthancPluginErrorCode_UnknownResource
    INCOMPATIBLE_DATABASE_VERSION = (
        lib.OrthancPluginErrorCode_IncompatibleDatabaseVersion
    )
    FULL_STORAGE = lib.OrthancPluginErrorCode_FullStorage
    CORRUPTED_FILE = lib.OrthancPluginErrorCode_CorruptedFile
    INEXISTENT_TAG = lib.OrthancPluginErrorCode_InexistentTag
    READ_ONLY = lib.OrthancPluginErrorCode_ReadOnly
    INCOMPATIBLE_IMAGE_FORMAT = (
        lib.OrthancPluginErrorCode_IncompatibleImageFormat
    )
    INCOMPATIBLE_IMAGE_SIZE = lib.OrthancPluginErrorCode_IncompatibleImageSize
    SHARED_LIBRARY = lib.OrthancPluginErrorCode_SharedLibrary
    UNKNOWN_PLUGIN_SERVICE = lib.OrthancPluginErrorCode_UnknownPluginService
    UNKNOWN_DICOM_TAG = lib.OrthancPluginErrorCode_UnknownDicomTag
    BAD_JSON = lib.OrthancPluginErrorCode_BadJson
    UNAUTHORIZED = lib.OrthancPluginErrorCode_Unauthorized
    BAD_FONT = lib.OrthancPluginErrorCode_BadFont
    DATABASE_PLUGIN = lib.OrthancPluginErrorCode_DatabasePlugin
    STORAGE_AREA_PLUGIN = lib.OrthancPluginErrorCode_StorageAreaPlugin
    EMPTY_REQUEST = lib.OrthancPluginErrorCode_EmptyRequest
    NOT_ACCEPTABLE = lib.OrthancPluginErrorCode_NotAcceptable
    NULL_POINTER = lib.OrthancPluginErrorCode_NullPointer
    DATABASE_UNAVAILABLE = lib.OrthancPluginErrorCode_DatabaseUnavailable
    CANCELED_JOB = lib.OrthancPluginErrorCode_CanceledJob
    BAD_GEOMETRY = lib.OrthancPluginErrorCode_BadGeometry
    SSL_INITIALIZATION = lib.OrthancPluginErrorCode_SslInitialization
    DISCONTINUED_ABI = lib.OrthancPluginErrorCode_DiscontinuedAbi
    BAD_RANGE = lib.OrthancPluginErrorCode_BadRange
    DATABASE_CANNOT_SERIALIZE = (
        lib.OrthancPluginErrorCode_DatabaseCannotSerialize
    )
    REVISION = lib.OrthancPluginErrorCode_Revision
    SQLITE_NOT_OPENED = lib.OrthancPluginErrorCode_SQLiteNotOpened
    SQLITE_ALREADY_OPENED = lib.OrthancPluginErrorCode_SQLiteAlreadyOpened
    SQLITE_CANNOT_OPEN = lib.OrthancPluginErrorCode_SQLiteCannotOpen
    SQLITE_STATEMENT_ALREADY_USED = (
        lib.OrthancPluginErrorCode_SQLiteStatementAlreadyUsed
    )
    SQLITE_EXECUTE = lib.OrthancPluginErrorCode_SQLiteExecute
    SQLITE_ROLLBACK_WITHOUT_TRANSACTION = (
        lib.OrthancPluginErrorCode_SQLiteRollbackWithoutTransaction
    )
    SQLITE_COMMIT_WITHOUT_TRANSACTION = (
        lib.OrthancPluginErrorCode_SQLiteCommitWithoutTransaction
    )
    SQLITE_REGISTER_FUNCTION = (
        lib.OrthancPluginErrorCode_SQLiteRegisterFunction
    )
    SQLITE_FLUSH = lib.OrthancPluginErrorCode_SQLiteFlush
    SQLITE_CANNOT_RUN = lib.OrthancPluginErrorCode_SQLiteCannotRun
    SQLITE_CANNOT_STEP = lib.OrthancPluginErrorCode_SQLiteCannotStep
    SQLITE_BIND_OUT_OF_RANGE = lib.OrthancPluginErrorCode_SQLiteBindOutOfRange
    SQLITE_PREPARE_STATEMENT = (
        lib.OrthancPluginErrorCode_SQLitePrepareStatement
    )
    SQLITE_TRANSACTION_ALREADY_STARTED = (
        lib.OrthancPluginErrorCode_SQLiteTransactionAlreadyStarted
    )
    SQLITE_TRANSACTION_COMMIT = (
        lib.OrthancPluginErrorCode_SQLiteTransactionCommit
    )
    SQLITE_TRANSACTION_BEGIN = (
        lib.OrthancPluginErrorCode_SQLiteTransactionBegin
    )
    DIRECTORY_OVER_FILE = lib.OrthancPluginErrorCode_DirectoryOverFile
    FILE_STORAGE_CANNOT_WRITE = (
        lib.OrthancPluginErrorCode_FileStorageCannotWrite
    )
    DIRECTORY_EXPECTED = lib.OrthancPluginErrorCode_DirectoryExpected
    HTTP_PORT_IN_USE = lib.OrthancPluginErrorCode_HttpPortInUse
    DICOM_PORT_IN_USE = lib.OrthancPluginErrorCode_DicomPortInUse
    BAD_HTTP_STATUS_IN_REST = lib.OrthancPluginErrorCode_BadHttpStatusInRest
    REGULAR_FILE_EXPECTED = lib.OrthancPluginErrorCode_RegularFileExpected
    PATH_TO_EXECUTABLE = lib.OrthancPluginErrorCode_PathToExecutable
    MAKE_DIRECTORY = lib.OrthancPluginErrorCode_MakeDirectory
    BAD_APPLICATION_ENTITY_TITLE = (
        lib.OrthancPluginErrorCode_BadApplicationEntityTitle
    )
    NO_C_FIND_HANDLER = lib.OrthancPluginErrorCode_NoCFindHandler
    NO_C_MOVE_HANDLER = lib.OrthancPluginErrorCode_NoCMoveHandler
    NO_C_STORE_HANDLER = lib.OrthancPluginErrorCode_NoCStoreHandler
    NO_APPLICATION_ENTITY_FILTER = (
        lib.OrthancPluginErrorCode_NoApplicationEntityFilter
    )
    NO_SOP_CLASS_OR_INSTANCE = lib.OrthancPluginErrorCode_NoSopClassOrInstance
    NO_PRESENTATION_CONTEXT = lib.OrthancPluginErrorCode_NoPresentationContext
    DICOM_FIND_UNAVAILABLE = lib.OrthancPluginErrorCode_DicomFindUnavailable
    DICOM_MOVE_UNAVAILABLE = lib.OrthancPluginErrorCode_DicomMoveUnavailable
    CANNOT_STORE_INSTANCE = lib.OrthancPluginErrorCode_CannotStoreInstance
    CREATE_DICOM_NOT_STRING = lib.OrthancPluginErrorCode_CreateDicomNotString
    CREATE_DICOM_OVERRIDE_TAG = (
        lib.OrthancPluginErrorCode_CreateDicomOverrideTag
    )
    CREATE_DICOM_USE_CONTENT = lib.OrthancPluginErrorCode_CreateDicomUseContent
    CREATE_DICOM_NO_PAYLOAD = lib.OrthancPluginErrorCode_CreateDicomNoPayload
    CREATE_DICOM_USE_DATA_URI_SCHEME = (
        lib.OrthancPluginErrorCode_CreateDicomUseDataUriScheme
    )
    CREATE_DICOM_BAD_PARENT = lib.OrthancPluginErrorCode_CreateDicomBadParent
    CREATE_DICOM_PARENT_IS_INSTANCE = (
        lib.OrthancPluginErrorCode_CreateDicomParentIsInstance
    )
    CREATE_DICOM_PARENT_ENCODING = (
        lib.OrthancPluginErrorCode_CreateDicomParentEncoding
    )
    UNKNOWN_MODALITY = lib.OrthancPluginErrorCode_UnknownModality
    BAD_JOB_ORDERING = lib.OrthancPluginErrorCode_BadJobOrdering
    JSON_TO_LUA_TABLE = lib.OrthancPluginErrorCode_JsonToLuaTable
    CANNOT_CREATE_LUA = lib.OrthancPluginErrorCode_CannotCreateLua
    CANNOT_EXECUTE_LUA = lib.OrthancPluginErrorCode_CannotExecuteLua
    LUA_ALREADY_EXECUTED = lib.OrthancPluginErrorCode_LuaAlreadyExecuted
    LUA_BAD_OUTPUT = lib.OrthancPluginErrorCode_LuaBadOutput
    NOT_LUA_PREDICATE = lib.OrthancPluginErrorCode_NotLuaPredicate
    LUA_RETURNS_NO_STRING = lib.OrthancPluginErrorCode_LuaReturnsNoString
    STORAGE_AREA_ALREADY_REGISTERED = (
        lib.OrthancPluginErrorCode_StorageAreaAlreadyRegistered
    )
    DATABASE_BACKEND_ALREADY_REGISTERED = (
        lib.OrthancPluginErrorCode_DatabaseBackendAlreadyRegistered
    )
    DATABASE_NOT_INITIALIZED = (
        lib.OrthancPluginErrorCode_DatabaseNotInitialized
    )
    SSL_DISABLED = lib.OrthancPluginErrorCode_SslDisabled
    CANNOT_ORDER_SLICES = lib.OrthancPluginErrorCode_CannotOrderSlices
    NO_WORKLIST_HANDLER = lib.OrthancPluginErrorCode_NoWorklistHandler
    ALREADY_EXISTING_TAG = lib.OrthancPluginErrorCode_AlreadyExistingTag
    NO_STORAGE_COMMITMENT_HANDLER = (
        lib.OrthancPluginErrorCode_NoStorageCommitmentHandler
    )
    NO_C_GET_HANDLER = lib.OrthancPluginErrorCode_NoCGetHandler
    UNSUPPORTED_MEDIA_TYPE = lib.OrthancPluginErrorCode_UnsupportedMediaType


class HttpMethod(enum.IntEnum):
    """``OrthancPluginHttpMethod``."""

    GET = lib.OrthancPluginHttpMethod_Get
    POST = lib.OrthancPluginHttpMethod_Post
    PUT = lib.OrthancPluginHttpMethod_Put
    DELETE = lib.OrthancPluginHttpMethod_Delete


class ResourceType(enum.IntEnum):
    """``OrthancPluginResourceType``."""

    PATIENT = lib.OrthancPluginResourceType_Patient
    STUDY = lib.OrthancPluginResourceType_Study
    SERIES = lib.OrthancPluginResourceType_Series
    INSTANCE = lib.OrthancPluginResourceType_Instance
    NONE = lib.OrthancPluginResourceType_None


class ChangeType(enum.IntEnum):
    """``OrthancPluginChangeType``: what an on-change event reports."""

    COMPLETED_SERIES = lib.OrthancPluginChangeType_CompletedSeries
    DELETED = lib.OrthancPluginChangeType_Deleted
    NEW_CHILD_INSTANCE = lib.OrthancPluginChangeType_NewChildInstance
    NEW_INSTANCE = lib.OrthancPluginChangeType_NewInstance
    NEW_PATIENT = lib.OrthancPluginChangeType_NewPatient
    NEW_SERIES = lib.OrthancPluginChangeType_NewSeries
    NEW_STUDY = lib.OrthancPluginChangeType_NewStudy
    STABLE_PATIENT = lib.OrthancPluginChangeType_StablePatient
    STABLE_SERIES = lib.OrthancPluginChangeType_StableSeries
    STABLE_STUDY = lib.OrthancPluginChangeType_StableStudy
    ORTHANC_STARTED = lib.OrthancPluginChangeType_OrthancStarted
    ORTHANC_STOPPED = lib.OrthancPluginChangeType_OrthancStopped
    UPDATED_ATTACHMENT = lib.OrthancPluginChangeType_UpdatedAttachment
    UPDATED_METADATA = lib.OrthancPluginChangeType_UpdatedMetadata
    UPDATED_PEERS = lib.OrthancPluginChangeType_UpdatedPeers
    UPDATED_MODALITIES = lib.OrthancPluginChangeType_UpdatedModalities
    JOB_SUBMITTED = lib.OrthancPluginChangeType_JobSubmitted
    JOB_SUCCESS = lib.OrthancPluginChangeType_JobSuccess
    JOB_FAILURE = lib.OrthancPluginChangeType_JobFailure
