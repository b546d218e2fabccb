# SPDX-License-Identifier: GPL-3.0-or-later
"""The exceptions: hierarchy, codes, messages, unknown codes, pickling.

Codes reach the binding as the fake core's answers, so each error below
went through ``InvokeService`` and ``OrthancPluginGetErrorDescription`` as
it would inside Orthanc.
"""

import os
import pickle
import re

import pytest

import orthanc_sdk
from orthanc_sdk import (
    BadFileFormatError,
    BadRequestError,
    ContextClosedError,
    ErrorCode,
    InexistentItemError,
    NotReadyError,
    OrthancError,
    UnauthorizedError,
    UnknownResourceError,
    lib,
)
from orthanc_sdk.errors import check, error_class

pytest_plugins = ("fakecore",)


# ---- the hierarchy ------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "bases"),
    [
        (UnknownResourceError, (OrthancError, KeyError)),
        (InexistentItemError, (OrthancError, LookupError)),
        (BadRequestError, (OrthancError, ValueError)),
        (BadFileFormatError, (OrthancError, ValueError)),
        (UnauthorizedError, (OrthancError, PermissionError)),
        (NotReadyError, (OrthancError,)),
        (OrthancError, (Exception,)),
        (ContextClosedError, (RuntimeError,)),
    ],
)
def test_hierarchy(error, bases) -> None:
    for base in bases:
        assert issubclass(error, base)


def test_closed_is_not_an_orthanc_error() -> None:
    """Closing is the plugin's state, not a code from the core."""
    assert not issubclass(ContextClosedError, OrthancError)
    assert not issubclass(NotReadyError, (KeyError, ValueError))


# ---- codes to classes, end to end ---------------------------------------


@pytest.mark.parametrize(
    ("code", "error", "builtin"),
    [
        (ErrorCode.UNKNOWN_RESOURCE, UnknownResourceError, KeyError),
        (ErrorCode.INEXISTENT_ITEM, InexistentItemError, LookupError),
        (ErrorCode.BAD_REQUEST, BadRequestError, ValueError),
        (ErrorCode.URI_SYNTAX, BadRequestError, ValueError),
        (ErrorCode.BAD_JSON, BadRequestError, ValueError),
        (ErrorCode.PARAMETER_OUT_OF_RANGE, BadRequestError, ValueError),
        (ErrorCode.BAD_FILE_FORMAT, BadFileFormatError, ValueError),
        (ErrorCode.UNAUTHORIZED, UnauthorizedError, PermissionError),
        (ErrorCode.DATABASE_NOT_INITIALIZED, NotReadyError, OrthancError),
        (ErrorCode.PLUGIN, OrthancError, OrthancError),
        (ErrorCode.INTERNAL_ERROR, OrthancError, OrthancError),
        (ErrorCode.SQLITE_NOT_OPENED, OrthancError, OrthancError),
    ],
)
def test_code_raises_its_class(core, code, error, builtin) -> None:
    """``except KeyError`` and friends catch what the core answered."""
    core.answer("RestApiPost", code=code)

    with pytest.raises(builtin) as caught:
        core.context.rest_api_post("/tools/find", {"Level": "Study"})

    assert type(caught.value) is error
    assert error_class(code) is error
    assert caught.value.code is code
    assert isinstance(caught.value.code, ErrorCode)


def test_message_names_function_description_and_code(core) -> None:
    core.answer("RestApiGet", code=ErrorCode.UNKNOWN_RESOURCE)
    core.descriptions[ErrorCode.UNKNOWN_RESOURCE] = "Unknown resource"

    with pytest.raises(UnknownResourceError) as caught:
        core.context.rest_api_get("/patients/abc")

    error = caught.value
    assert error.function == "OrthancPluginRestApiGet"
    assert error.description == "Unknown resource"
    assert error.detail == "/patients/abc"
    assert str(error) == (
        "OrthancPluginRestApiGet: Unknown resource [UNKNOWN_RESOURCE]"
        " (/patients/abc)"
    )
    # KeyError would quote its argument; the message stays plain.
    assert str(error) == error.message
    assert error.args == (error.message,)


def test_description_comes_from_the_core(core) -> None:
    """The core's description for the code, not a local table."""
    core.descriptions[ErrorCode.BAD_JSON] = "Cannot parse a JSON document"
    core.answer("RestApiPut", code=ErrorCode.BAD_JSON)

    with pytest.raises(BadRequestError) as caught:
        core.context.rest_api_put("/u", "{not json")

    assert core.calls[1].service == "GetErrorDescription"
    assert core.calls[1].error == ErrorCode.BAD_JSON
    assert "Cannot parse a JSON document" in str(caught.value)


def test_description_when_the_core_has_none(core) -> None:
    """The SDK's inline function answers its own text; no crash."""
    core.answer("RestApiGet", code=ErrorCode.UNKNOWN_RESOURCE)
    core.answer("GetErrorDescription", code=ErrorCode.UNKNOWN_PLUGIN_SERVICE)

    with pytest.raises(UnknownResourceError) as caught:
        core.context.rest_api_get("/u")

    assert caught.value.description
    assert "[UNKNOWN_RESOURCE]" in str(caught.value)


@pytest.mark.parametrize("code", [9999, 2**31 - 1, -5])
def test_code_unknown_to_this_build(core, code) -> None:
    """A newer core's code: still an OrthancError, readable, with .code."""
    core.answer("RestApiGet", code=code)
    core.descriptions[code] = "Something new in Orthanc 9"

    with pytest.raises(OrthancError) as caught:
        core.context.rest_api_get("/u")

    error = caught.value
    assert type(error) is OrthancError
    assert error.code == code
    assert type(error.code) is int
    assert core.calls[1].error == code
    assert "Something new in Orthanc 9" in str(error)
    assert f"code {code}" in str(error)
    assert "OrthancPluginRestApiGet" in str(error)


def test_internal_error_is_signed(core) -> None:
    core.answer("LookupInstance", code=-1)

    with pytest.raises(OrthancError) as caught:
        core.context.lookup_instance("1.2.3")

    assert caught.value.code is ErrorCode.INTERNAL_ERROR
    assert caught.value.code == -1


# ---- without a core -----------------------------------------------------


def test_check_success_is_silent() -> None:
    assert check(ErrorCode.SUCCESS, "OrthancPluginRestApiGet") is None


def test_check_without_a_context_describes_from_the_name() -> None:
    with pytest.raises(UnknownResourceError) as caught:
        check(17, "OrthancPluginLookupPatient", "someone")

    assert caught.value.description == "Unknown resource"
    assert str(caught.value) == (
        "OrthancPluginLookupPatient: Unknown resource [UNKNOWN_RESOURCE]"
        " (someone)"
    )


def test_unknown_code_without_a_context() -> None:
    error = OrthancError(12345)

    assert error.code == 12345
    assert "12345" in str(error)
    assert "unknown to this build" in str(error)


# ---- ErrorCode ----------------------------------------------------------

PREFIX = "OrthancPluginErrorCode_"


def test_error_code_has_every_code_of_the_module() -> None:
    """Every OrthancPluginErrorCode_* of the compiled module, same value."""
    names = [name for name in dir(lib) if name.startswith(PREFIX)]

    for name in names:
        code = ErrorCode(getattr(lib, name))
        # UNKNOWN_RESOURCE for UnknownResource: same letters, same order.
        assert code.name.replace("_", "") == name[len(PREFIX) :].upper()
    # No two C names collapsed into one member (an alias), none extra.
    assert len(ErrorCode.__members__) == len(names) == len(ErrorCode)


def test_error_code_covers_the_header() -> None:
    """_cdef.h names every code of the oldest supported SDK (1.10.1).

    Newer headers add codes that the module does not name; the binding
    reports them as plain ints (test_code_unknown_to_this_build).
    """
    folder = os.environ.get("ORTHANC_SDK_INCLUDE_DIR", "/usr/include")
    with open(os.path.join(folder, "orthanc", "OrthancCPlugin.h")) as header:
        text = header.read()
    in_header = set(re.findall(r"\b" + PREFIX + r"(\w+)\s*=", text))
    in_module = {name[len(PREFIX) :] for name in dir(lib) if PREFIX in name}

    assert in_module <= in_header
    if orthanc_sdk.SDK_VERSION == (1, 10, 1):
        assert in_module == in_header


@pytest.mark.parametrize(
    ("name", "c_name"),
    [
        ("SUCCESS", "Success"),
        ("INTERNAL_ERROR", "InternalError"),
        ("UNKNOWN_RESOURCE", "UnknownResource"),
        ("SQLITE_NOT_OPENED", "SQLiteNotOpened"),
        ("SQLITE_CANNOT_OPEN", "SQLiteCannotOpen"),
        ("NO_C_FIND_HANDLER", "NoCFindHandler"),
        ("NO_C_GET_HANDLER", "NoCGetHandler"),
        ("DATABASE_NOT_INITIALIZED", "DatabaseNotInitialized"),
        ("BAD_HTTP_STATUS_IN_REST", "BadHttpStatusInRest"),
        ("SSL_DISABLED", "SslDisabled"),
        ("JSON_TO_LUA_TABLE", "JsonToLuaTable"),
    ],
)
def test_error_code_names(name, c_name) -> None:
    assert ErrorCode[name] == getattr(lib, PREFIX + c_name)


# ---- pickling -----------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [ErrorCode.UNKNOWN_RESOURCE, ErrorCode.DATABASE_NOT_INITIALIZED, 9999],
)
def test_pickle_round_trip(core, code) -> None:
    """Errors cross process boundaries (multiprocessing, logging)."""
    core.answer("GetDicomForInstance", code=code)
    with pytest.raises(OrthancError) as caught:
        core.context.get_dicom_for_instance("instance-1")
    error = caught.value

    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is type(error)
    assert copy.code == error.code
    assert type(copy.code) is type(error.code)
    assert copy.function == "OrthancPluginGetDicomForInstance"
    assert copy.description == error.description
    assert copy.detail == "instance-1"
    assert str(copy) == str(error)


def test_pickle_context_closed() -> None:
    error = ContextClosedError("finalized")

    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is ContextClosedError
    assert str(copy) == "finalized"
