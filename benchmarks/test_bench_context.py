# SPDX-License-Identifier: GPL-3.0-or-later
"""The cost of one call of each ``Context`` method, over the fake core.

Each benchmark checks what the call answered and what reached the core,
so a broken wrapper fails here too; the fixture checks the memory.
"""

from collections.abc import Callable
from typing import Any

import pytest

from orthanc_sdk import ffi, lib

BODY = b"x" * 1024
STUDY = "1.2.840.113619.2.55.3"


def _keep(buffer: Any) -> int:
    """Consume a Buffer the way a plugin would: with, then its size."""
    with buffer:
        return len(buffer)


CALLS: dict[str, tuple[str, dict[str, Any], Callable[[Any], Any], Any]] = {
    # name: (service, answer fields, call on the Context, expected)
    "rest_api_get": (
        "RestApiGet",
        {"body": b'{"Name": "x"}'},
        lambda c: _keep(c.rest_api_get("/system")),
        13,
    ),
    "rest_api_get_after_plugins": (
        "RestApiGetAfterPlugins",
        {"body": b"{}"},
        lambda c: _keep(c.rest_api_get("/system", after_plugins=True)),
        2,
    ),
    "rest_api_get_headers": (
        "RestApiGet2",
        {"body": b"{}"},
        lambda c: _keep(c.rest_api_get("/system", headers={"a": "b"})),
        2,
    ),
    "rest_api_post_1k": (
        "RestApiPost",
        {"body": b"{}"},
        lambda c: _keep(c.rest_api_post("/tools/x", BODY)),
        2,
    ),
    "rest_api_put_1k": (
        "RestApiPut",
        {"body": b"{}"},
        lambda c: _keep(c.rest_api_put("/tools/x", BODY)),
        2,
    ),
    "rest_api_delete": (
        "RestApiDelete",
        {},
        lambda c: c.rest_api_delete("/instances/x"),
        None,
    ),
    "call_rest_api": (
        "CallRestApi",
        {"body": b"{}", "headers": {"content-type": "application/json"}},
        lambda c: c.call_rest_api("GET", "/system").status,
        200,
    ),
    "get_dicom_for_instance_1k": (
        "GetDicomForInstance",
        {"body": BODY},
        lambda c: _keep(c.get_dicom_for_instance("f00d")),
        1024,
    ),
    "lookup_patient": (
        "LookupPatient",
        {"result": "p1"},
        lambda c: c.lookup_patient("P1"),
        "p1",
    ),
    "lookup_study": (
        "LookupStudy",
        {"result": "s1"},
        lambda c: c.lookup_study(STUDY),
        "s1",
    ),
    "lookup_study_not_found": (
        "LookupStudy",
        {"code": 17},
        lambda c: c.lookup_study(STUDY),
        None,
    ),
    "lookup_study_with_accession_number": (
        "LookupStudyWithAccessionNumber",
        {"result": "s1"},
        lambda c: c.lookup_study_with_accession_number("A1"),
        "s1",
    ),
    "lookup_series": (
        "LookupSeries",
        {"result": "r1"},
        lambda c: c.lookup_series("1.2.3"),
        "r1",
    ),
    "lookup_instance": (
        "LookupInstance",
        {"result": "i1"},
        lambda c: c.lookup_instance("1.2.3.4"),
        "i1",
    ),
    "get_global_property": (
        "GetGlobalProperty",
        {"result": "value"},
        lambda c: c.get_global_property(4242),
        "value",
    ),
    "set_global_property": (
        "SetGlobalProperty",
        {},
        lambda c: c.set_global_property(4242, "value"),
        None,
    ),
    "generate_rest_api_authorization_token": (
        "GenerateRestApiAuthorizationToken",
        {"result": "Bearer t"},
        lambda c: c.generate_rest_api_authorization_token(),
        "Bearer t",
    ),
    "log": (
        "LogInfo",
        {},
        lambda c: c.log(20, "message"),
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_context_call(benchmark, core, name: str) -> None:
    service, fields, call, expected = CALLS[name]
    core.answer(service, **fields)
    context = core.context

    result = benchmark(call, context)

    assert result == expected
    assert core.calls[-1].service == service


def test_c_tier_rest_api_get(benchmark, core) -> None:
    """The same call as rest_api_get through ``lib``: the floor here."""
    core.answer("RestApiGet", body=b'{"Name": "x"}')
    pointer = core.context.pointer

    def call() -> int:
        target = ffi.new("OrthancPluginMemoryBuffer *")
        code = lib.OrthancPluginRestApiGet(pointer, target, b"/system")
        size = target.size
        lib.OrthancPluginFreeMemoryBuffer(pointer, target)
        return size if code == lib.OrthancPluginErrorCode_Success else -1

    assert benchmark(call) == 13
    assert core.calls[-1].uri == b"/system"


def test_c_tier_get_global_property(benchmark, core) -> None:
    """get_global_property through ``lib``: the floor here."""
    core.answer("GetGlobalProperty", result="value")
    pointer = core.context.pointer

    def call() -> bytes:
        result = ffi.new("char **")
        code = lib.OrthancSdkGetGlobalProperty(pointer, 4242, b"", result)
        if code != lib.OrthancPluginErrorCode_Success:
            return b""
        value = ffi.string(result[0])
        lib.OrthancPluginFreeString(pointer, result[0])
        return value

    assert benchmark(call) == b"value"
    assert core.calls[-1].property == 4242
