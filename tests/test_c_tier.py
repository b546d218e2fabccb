# SPDX-License-Identifier: GPL-3.0-or-later
"""The C tier, ``orthanc_sdk.lib``, used exactly as in C, on the fake core.

The SDK's inline functions compiled into ``lib`` must reach the fake core
with the header's own service numbers and parameter structs, and free
through the context's ``Free``.
"""

import pytest
from fakecore import FakeCore

import orthanc_sdk
from orthanc_sdk import ErrorCode, ffi, lib

pytest_plugins = ("fakecore",)


def test_rest_api_get_and_free_memory_buffer(core) -> None:
    """The C sample: call, read target->data, free the buffer."""
    core.answer("RestApiGet", body=b'{"Name": "fake"}')
    context = ffi.cast("OrthancPluginContext *", core.address)
    buffer = ffi.new("OrthancPluginMemoryBuffer *")

    code = lib.OrthancPluginRestApiGet(context, buffer, b"/system")

    assert code == lib.OrthancPluginErrorCode_Success
    assert ffi.buffer(buffer.data, buffer.size)[:] == b'{"Name": "fake"}'
    made = core.only_call("RestApiGet")
    assert made.uri == b"/system"
    assert int(ffi.cast("uintptr_t", buffer.data)) == made.allocated[0]
    lib.OrthancPluginFreeMemoryBuffer(context, buffer)
    assert core.freed == made.allocated


def test_free_memory_buffer_of_an_empty_answer_is_harmless(core) -> None:
    """At most a Free(NULL): the 1.10.1 header frees data unconditionally."""
    buffer = ffi.new("OrthancPluginMemoryBuffer *")

    code = lib.OrthancPluginRestApiGet(core.context.pointer, buffer, b"/e")
    lib.OrthancPluginFreeMemoryBuffer(core.context.pointer, buffer)

    assert code == 0
    assert buffer.data == ffi.NULL
    assert core.null_frees <= 1
    assert core.frees == 0
    assert core.double_frees() == []


def test_error_code_is_returned_as_is(core) -> None:
    core.answer("RestApiPost", code=ErrorCode.BAD_JSON)
    buffer = ffi.new("OrthancPluginMemoryBuffer *")

    code = lib.OrthancPluginRestApiPost(
        core.context.pointer, buffer, b"/tools/find", b"{", 1
    )

    assert code == lib.OrthancPluginErrorCode_BadJson
    assert core.only_call().body == b"{"
    assert buffer.data == ffi.NULL


def test_rest_api_delete_passes_the_uri_as_parameters(core) -> None:
    code = lib.OrthancPluginRestApiDelete(core.context.pointer, b"/x/y")

    assert code == 0
    assert core.only_call("RestApiDelete").uri == b"/x/y"


def test_lookup_and_free_string(core) -> None:
    core.answer("LookupPatient", result="patient-id")

    result = lib.OrthancPluginLookupPatient(core.context.pointer, b"P1")

    made = core.only_call("LookupPatient")
    assert made.argument == b"P1"
    assert ffi.string(result) == b"patient-id"
    lib.OrthancPluginFreeString(core.context.pointer, result)
    assert core.freed == made.allocated


def test_free_string_of_null_calls_nothing(core) -> None:
    lib.OrthancPluginFreeString(core.context.pointer, ffi.NULL)

    assert core.null_frees == 0
    assert core.frees == 0


# The SDK's string functions and the OrthancSdk* helpers that keep the code
# (C name, helper, service, arguments after the context).
STRING_FUNCTIONS = [
    ("LookupPatient", "LookupPatient", (b"P",)),
    ("LookupStudy", "LookupStudy", (b"1.2",)),
    (
        "LookupStudyWithAccessionNumber",
        "LookupStudyWithAccessionNumber",
        (b"A1",),
    ),
    ("LookupSeries", "LookupSeries", (b"1.2.3",)),
    ("LookupInstance", "LookupInstance", (b"1.2.3.4",)),
    ("GetGlobalProperty", "GetGlobalProperty", (2048, b"default")),
    (
        "GenerateRestApiAuthorizationToken",
        "GenerateRestApiAuthorizationToken",
        (),
    ),
]
STRING_IDS = [name for name, *_ in STRING_FUNCTIONS]


@pytest.mark.parametrize(
    ("name", "service", "arguments"), STRING_FUNCTIONS, ids=STRING_IDS
)
def test_inline_drops_the_code_helper_keeps_it(
    core, name, service, arguments
) -> None:
    """On failure the SDK answers NULL; OrthancSdk* answers the code."""
    core.answer(service, code=ErrorCode.DATABASE_NOT_INITIALIZED)
    pointer = core.context.pointer
    result = ffi.new("char **")

    inline = getattr(lib, "OrthancPlugin" + name)(pointer, *arguments)
    code = getattr(lib, "OrthancSdk" + name)(pointer, *arguments, result)

    assert inline == ffi.NULL
    assert code == lib.OrthancPluginErrorCode_DatabaseNotInitialized
    assert result[0] == ffi.NULL
    assert core.services() == [service, service]
    assert core.allocations == 0


@pytest.mark.parametrize(
    ("name", "service", "arguments"), STRING_FUNCTIONS, ids=STRING_IDS
)
def test_helper_sends_what_the_inline_sends(
    core, name, service, arguments
) -> None:
    """Same service, same parameter struct, same answer."""
    core.answer(service, result="the answer")
    pointer = core.context.pointer
    result = ffi.new("char **")

    inline = getattr(lib, "OrthancPlugin" + name)(pointer, *arguments)
    code = getattr(lib, "OrthancSdk" + name)(pointer, *arguments, result)

    assert code == 0
    assert ffi.string(inline) == ffi.string(result[0]) == b"the answer"
    first, second = core.calls
    for field in ("service", "argument", "property", "value"):
        assert getattr(first, field) == getattr(second, field)
    lib.OrthancPluginFreeString(pointer, inline)
    lib.OrthancPluginFreeString(pointer, result[0])
    assert core.frees == 2


def test_get_error_description(core) -> None:
    core.descriptions[17] = "Unknown resource (from the core)"

    text = lib.OrthancPluginGetErrorDescription(core.context.pointer, 17)

    assert ffi.string(text) == b"Unknown resource (from the core)"
    assert core.only_call("GetErrorDescription").error == 17


def test_check_version_reads_the_context(core) -> None:
    """The fake reports the header's own version: compatible."""
    assert lib.OrthancPluginCheckVersion(core.context.pointer) == 1


def test_check_version_refuses_an_older_core() -> None:
    with FakeCore(version="0.9.0") as old:
        assert lib.OrthancPluginCheckVersion(old.context.pointer) == 0
        assert old.context.orthanc_version == "0.9.0"


def test_sdk_version_is_the_header_one(core) -> None:
    """SDK_VERSION is what the fake core, compiled alone, reads too."""
    assert orthanc_sdk.SDK_VERSION == core.sdk_version
    assert orthanc_sdk.SDK_VERSION == (
        core.lib.ORTHANC_PLUGINS_MINIMAL_MAJOR_NUMBER,
        core.lib.ORTHANC_PLUGINS_MINIMAL_MINOR_NUMBER,
        core.lib.ORTHANC_PLUGINS_MINIMAL_REVISION_NUMBER,
    )
    assert orthanc_sdk.SDK_VERSION >= (1, 10, 1)


def test_both_modules_agree_on_the_layouts(core) -> None:
    """Two cffi modules, one header: same sizes and numbers."""
    for type_name in ("OrthancPluginMemoryBuffer", "OrthancPluginContext"):
        assert ffi.sizeof(type_name) == core.ffi.sizeof(type_name)
    for name in ("Get", "Post", "Put", "Delete"):
        c_name = "OrthancPluginHttpMethod_" + name
        assert getattr(lib, c_name) == getattr(core.lib, c_name)
    assert core.service_number("GetErrorDescription") == 17
    assert core.service_number("RestApiGet") == 3001
