# SPDX-License-Identifier: GPL-3.0-or-later
"""Every ``Context`` method against the fake core.

For each SDK function: the service that reaches the core, the parameters
it reads, what the method returns, and its error path.  The ``core``
fixture checks at teardown that every block the core allocated came back
exactly once.
"""

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np
import pytest
from fakecore import Answer, Call

from orthanc_sdk import (
    Buffer,
    ContextClosedError,
    ErrorCode,
    HttpMethod,
    NotReadyError,
    OrthancError,
    RestResponse,
    UnknownResourceError,
    ffi,
)

pytest_plugins = ("fakecore",)


def _address(obj: object) -> int:
    return int(ffi.cast("uintptr_t", ffi.from_buffer(obj)))


# ---- the context itself -------------------------------------------------


def test_context_reads_the_core_version(core) -> None:
    """The version string comes from the context struct, as C sees it."""
    context = core.context

    assert context.orthanc_version == core.version
    assert core.version in repr(context)
    assert int(ffi.cast("uintptr_t", context.pointer)) == core.address
    assert not context.closed
    assert core.calls == []


# ---- every SDK function that answers a buffer ---------------------------

# (service, call): the service that the call must reach.  CallRestApi is
# here for what it shares with the others: a body buffer and error codes.
BUFFER_CALLS = [
    ("RestApiGet", lambda c: c.rest_api_get("/u")),
    ("RestApiGet2", lambda c: c.rest_api_get("/u", headers={"a": "b"})),
    (
        "RestApiGetAfterPlugins",
        lambda c: c.rest_api_get("/u", after_plugins=True),
    ),
    ("RestApiPost", lambda c: c.rest_api_post("/u", b"in")),
    (
        "RestApiPostAfterPlugins",
        lambda c: c.rest_api_post("/u", b"in", after_plugins=True),
    ),
    ("RestApiPut", lambda c: c.rest_api_put("/u", b"in")),
    (
        "RestApiPutAfterPlugins",
        lambda c: c.rest_api_put("/u", b"in", after_plugins=True),
    ),
    ("CallRestApi", lambda c: c.call_rest_api("GET", "/u").body),
    ("GetDicomForInstance", lambda c: c.get_dicom_for_instance("/u")),
]
BUFFER_IDS = [service for service, _ in BUFFER_CALLS]


@pytest.mark.parametrize(("service", "call"), BUFFER_CALLS, ids=BUFFER_IDS)
def test_answer_is_a_zero_copy_buffer(core, service, call) -> None:
    """The answer is the core's own memory, given back once."""
    core.answer(service, body=b"\0answer\0")

    buffer = call(core.context)

    made = core.only_call(service)
    assert made.code == ErrorCode.SUCCESS
    assert made.uri == b"/u" or made.argument == b"/u"
    assert isinstance(buffer, Buffer)
    assert buffer == b"\0answer\0"
    assert len(buffer) == 8
    assert buffer.address == made.allocated[0]
    assert core.frees == 0
    buffer.release()
    assert core.freed == [made.allocated[0]]


@pytest.mark.parametrize(("service", "call"), BUFFER_CALLS, ids=BUFFER_IDS)
def test_empty_answer_is_an_empty_buffer(core, service, call) -> None:
    """data NULL, size 0: an empty Buffer, nothing to free."""
    core.answer(service, body=None)

    buffer = call(core.context)

    assert len(buffer) == 0
    assert bytes(buffer) == b""
    assert core.allocations == 0
    buffer.release()
    assert core.frees == 0
    assert core.null_frees == 0


@pytest.mark.parametrize(("service", "call"), BUFFER_CALLS, ids=BUFFER_IDS)
def test_error_code_raises_with_the_core_description(
    core, service, call
) -> None:
    """A code raises; the description is asked of the core itself."""
    core.answer(service, code=ErrorCode.UNKNOWN_RESOURCE)
    core.descriptions[ErrorCode.UNKNOWN_RESOURCE] = "No such resource here"

    with pytest.raises(UnknownResourceError) as caught:
        call(core.context)

    assert core.services() == [service, "GetErrorDescription"]
    assert core.calls[1].error == ErrorCode.UNKNOWN_RESOURCE
    error = caught.value
    assert error.code is ErrorCode.UNKNOWN_RESOURCE
    assert error.function == "OrthancPlugin" + service
    assert error.description == "No such resource here"
    assert error.detail == "/u"
    assert core.allocations == 0


@pytest.mark.parametrize(("service", "call"), BUFFER_CALLS, ids=BUFFER_IDS)
def test_error_code_frees_a_partial_answer(core, service, call) -> None:
    """Whatever the core wrote before answering an error is given back."""
    core.answer(
        service,
        code=ErrorCode.BAD_FILE_FORMAT,
        body=b"half an answer",
        headers={"x": "y"},
        fill_on_error=True,
    )

    with pytest.raises(OrthancError) as caught:
        call(core.context)

    assert caught.value.code is ErrorCode.BAD_FILE_FORMAT
    assert core.allocations >= 1
    assert core.frees == core.allocations
    assert core.outstanding() == 0


# ---- RestApiGet, RestApiGet2, RestApiGetAfterPlugins --------------------


def test_rest_api_get(core) -> None:
    core.answer("RestApiGet", body=b'{"Version": "1.10.1"}')

    with core.context.rest_api_get("/system") as answer:
        assert answer.json() == {"Version": "1.10.1"}

    assert core.only_call("RestApiGet").uri == b"/system"
    assert core.frees == 1


def test_rest_api_get_with_headers_calls_get2(core) -> None:
    """Headers go through RestApiGet2, with the header arrays, in order."""
    core.answer("RestApiGet2", body=b"ok")

    answer = core.context.rest_api_get(
        "/instances", headers={"Accept": "application/json", "X-N": "é"}
    )

    made = core.only_call("RestApiGet2")
    assert made.uri == b"/instances"
    assert made.headers == [
        (b"Accept", b"application/json"),
        (b"X-N", "é".encode()),
    ]
    assert made.after_plugins == 0
    assert answer == b"ok"


def test_rest_api_get2_pairs_and_after_plugins(core) -> None:
    """Pairs keep repeated names; after_plugins sets the struct's flag."""
    core.context.rest_api_get(
        "/x", headers=[("a", "1"), ("a", "2")], after_plugins=True
    ).release()

    made = core.only_call("RestApiGet2")
    assert made.headers == [(b"a", b"1"), (b"a", b"2")]
    assert made.after_plugins == 1


def test_rest_api_get_empty_headers_still_calls_get2(core) -> None:
    core.context.rest_api_get("/x", headers={}).release()

    assert core.only_call("RestApiGet2").headers == []


def test_rest_api_get_after_plugins(core) -> None:
    core.answer("RestApiGetAfterPlugins", body=b"from a plugin route")

    answer = core.context.rest_api_get("/plugin/route", after_plugins=True)

    assert core.only_call("RestApiGetAfterPlugins").uri == b"/plugin/route"
    assert answer.text == "from a plugin route"


@pytest.mark.parametrize(
    ("uri", "sent"),
    [
        ("/tools/find?x=a b&y=%2F", b"/tools/find?x=a b&y=%2F"),
        ("/patients/Zoë", "/patients/Zoë".encode()),
        ("no-leading-slash", b"no-leading-slash"),
        ("", b""),
        ("/a//b/../c", b"/a//b/../c"),
        (b"/raw/\xff\xfe", b"/raw/\xff\xfe"),
        ("/raw/\udcff", b"/raw/\xff"),
    ],
)
def test_uri_reaches_the_core_unchanged(core, uri, sent) -> None:
    """No quoting, no normalising; bytes pass as they are."""
    core.context.rest_api_get(uri).release()

    assert core.only_call("RestApiGet").uri == sent


# ---- RestApiPost, RestApiPut and their AfterPlugins variants ------------

BODIES = [
    pytest.param(b"abc", b"abc", id="bytes"),
    pytest.param(bytearray(b"abc"), b"abc", id="bytearray"),
    pytest.param(memoryview(b"xabcx")[1:4], b"abc", id="memoryview-slice"),
    pytest.param(
        np.array([1, 2, 0xABCD], dtype="<u2"),
        b"\x01\x00\x02\x00\xcd\xab",
        id="numpy-uint16",
    ),
    pytest.param("Zoë €", "Zoë €".encode(), id="str-utf8"),
    pytest.param({"a": [1, 2]}, b'{"a": [1, 2]}', id="dict-json"),
    pytest.param([1, "x", None], b'[1, "x", null]', id="list-json"),
    pytest.param(b"", b"", id="empty"),
    pytest.param(b"\0a\0\0b\0", b"\0a\0\0b\0", id="nul-bytes"),
]

POST_PUT = [
    ("RestApiPost", "rest_api_post", False),
    ("RestApiPostAfterPlugins", "rest_api_post", True),
    ("RestApiPut", "rest_api_put", False),
    ("RestApiPutAfterPlugins", "rest_api_put", True),
]


@pytest.mark.parametrize(
    ("service", "method", "after"), POST_PUT, ids=[s for s, *_ in POST_PUT]
)
@pytest.mark.parametrize(("body", "sent"), BODIES)
def test_post_put_bodies(core, service, method, after, body, sent) -> None:
    """Exactly these bytes, and this size, reach the core."""
    core.answer(service, body=b"done")

    answer = getattr(core.context, method)("/u", body, after_plugins=after)

    made = core.only_call(service)
    assert made.uri == b"/u"
    assert made.body == sent
    assert made.body_size == len(sent)
    assert answer == b"done"


@pytest.mark.parametrize("method", ["rest_api_post", "rest_api_put"])
def test_post_put_bodies_are_not_copied(core, method) -> None:
    """A bytes-like body is sent from its own memory."""
    body = bytearray(b"payload" * 100)
    array = np.arange(64, dtype=np.float64)

    getattr(core.context, method)("/a", body).release()
    getattr(core.context, method)("/b", array).release()

    assert core.calls[0].body_address == _address(body)
    assert core.calls[1].body_address == array.ctypes.data
    assert core.calls[1].body_size == array.nbytes


def test_nul_bytes_survive_both_ways(core) -> None:
    core.answer("RestApiPost", lambda call: Answer(body=call.body[::-1]))

    answer = core.context.rest_api_post("/echo", b"\0x\0\0y")

    assert core.only_call().body == b"\0x\0\0y"
    assert bytes(answer) == b"y\0\0x\0"
    assert len(answer) == 5


def test_json_body_is_valid_json(core) -> None:
    document = {"Query": {"PatientName": "Zoë*"}, "Level": "Study"}

    core.context.rest_api_post("/tools/find", document).release()

    assert json.loads(core.only_call().body) == document


# ---- RestApiDelete, RestApiDeleteAfterPlugins ---------------------------


@pytest.mark.parametrize(
    ("service", "after"),
    [("RestApiDelete", False), ("RestApiDeleteAfterPlugins", True)],
)
def test_rest_api_delete(core, service, after) -> None:
    """The URI string itself is the parameters; nothing is answered."""
    result = core.context.rest_api_delete("/patients/Zoë", after_plugins=after)

    assert result is None
    assert core.only_call(service).uri == "/patients/Zoë".encode()
    assert core.allocations == 0


@pytest.mark.parametrize(
    ("service", "after"),
    [("RestApiDelete", False), ("RestApiDeleteAfterPlugins", True)],
)
def test_rest_api_delete_error(core, service, after) -> None:
    core.answer(service, code=ErrorCode.UNKNOWN_RESOURCE)

    with pytest.raises(KeyError) as caught:
        core.context.rest_api_delete("/patients/gone", after_plugins=after)

    assert caught.value.function == "OrthancPlugin" + service
    assert caught.value.detail == "/patients/gone"
    assert core.services() == [service, "GetErrorDescription"]


# ---- CallRestApi --------------------------------------------------------


def test_call_rest_api(core) -> None:
    """Status, headers (JSON to dict) and body; headers freed at once."""
    core.answer(
        "CallRestApi",
        status=201,
        headers={"content-type": "application/json", "x-n": "1"},
        body=b'{"ID": "abc"}',
    )

    response = core.context.call_rest_api(HttpMethod.GET, "/system")

    made = core.only_call("CallRestApi")
    assert made.method == core.lib.OrthancPluginHttpMethod_Get
    assert made.uri == b"/system"
    assert made.after_plugins == 0
    assert isinstance(response, RestResponse)
    assert response.status == 201
    assert response.headers == {
        "content-type": "application/json",
        "x-n": "1",
    }
    assert response.body.json() == {"ID": "abc"}
    body_address, headers_address = made.allocated
    assert response.body.address == body_address
    assert core.freed == [headers_address]
    response.body.release()
    assert core.freed == [headers_address, body_address]


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("GET", "Get"),
        ("get", "Get"),
        ("Post", "Post"),
        ("PUT", "Put"),
        ("DELETE", "Delete"),
        (HttpMethod.POST, "Post"),
        (HttpMethod.DELETE, "Delete"),
        (int(HttpMethod.PUT), "Put"),
    ],
)
def test_call_rest_api_method(core, method, name) -> None:
    """By HttpMethod, by name in any case, or by number."""
    core.context.call_rest_api(method, "/u").body.release()

    made = core.only_call("CallRestApi")
    assert made.method == getattr(core.lib, "OrthancPluginHttpMethod_" + name)


def test_call_rest_api_headers_body_after_plugins(core) -> None:
    core.context.call_rest_api(
        "POST",
        "/tools/lookup",
        body=b"\0payload",
        headers=[("X-A", "1"), ("Authorization", "Bearer t")],
        after_plugins=True,
    ).body.release()

    made = core.only_call("CallRestApi")
    assert made.body == b"\0payload"
    assert made.body_size == 8
    assert made.headers == [(b"X-A", b"1"), (b"Authorization", b"Bearer t")]
    assert made.after_plugins == 1


def test_call_rest_api_without_body_sends_null(core) -> None:
    core.context.call_rest_api("GET", "/u").body.release()

    made = core.only_call("CallRestApi")
    assert made.body is None
    assert made.body_address == 0
    assert made.body_size == 0
    assert made.headers == []


def test_call_rest_api_unknown_route(core) -> None:
    """Orthanc: success, status 404, NULL body; no exception."""
    core.answer("CallRestApi", status=404, body=None, headers=None)

    response = core.context.call_rest_api("GET", "/no/such/route")

    assert response.status == 404
    assert len(response.body) == 0
    assert response.headers == {}
    assert core.allocations == 0


def test_call_rest_api_method_not_allowed(core) -> None:
    core.answer("CallRestApi", status=405, headers={"allow": "GET"})

    response = core.context.call_rest_api("DELETE", "/system")

    assert response.status == 405
    assert response.headers == {"allow": "GET"}


def test_call_rest_api_error_frees_both_buffers(core) -> None:
    """An error code with the status unwritten: raise, free everything."""
    core.answer(
        "CallRestApi",
        code=ErrorCode.UNKNOWN_RESOURCE,
        body=b"partial",
        headers={"a": "b"},
        fill_on_error=True,
    )

    with pytest.raises(UnknownResourceError):
        core.context.call_rest_api("GET", "/patients/x")

    assert core.allocations == 2
    assert sorted(core.freed) == sorted(core.calls[0].allocated)


def test_call_rest_api_unreadable_headers_free_the_body(core) -> None:
    """Headers that are not JSON raise, and both buffers are given back."""
    core.answer("CallRestApi", body=b"body", headers=b"not JSON")

    with pytest.raises(ValueError):
        core.context.call_rest_api("GET", "/u")

    assert core.allocations == 2
    assert core.frees == 2


# ---- GetDicomForInstance ------------------------------------------------


def test_get_dicom_for_instance(core) -> None:
    dicom = b"\0" * 128 + b"DICM" + bytes(range(256)) * 4096
    core.answer("GetDicomForInstance", body=dicom)

    answer = core.context.get_dicom_for_instance("6d4e3a2b-instance")

    made = core.only_call("GetDicomForInstance")
    assert made.argument == b"6d4e3a2b-instance"
    array = np.frombuffer(answer, dtype=np.uint8)
    assert array.ctypes.data == made.allocated[0]
    assert array[128:132].tobytes() == b"DICM"
    assert answer == dicom


# ---- the five lookups ---------------------------------------------------

LOOKUPS = [
    ("lookup_patient", "LookupPatient"),
    ("lookup_study", "LookupStudy"),
    ("lookup_study_with_accession_number", "LookupStudyWithAccessionNumber"),
    ("lookup_series", "LookupSeries"),
    ("lookup_instance", "LookupInstance"),
]
LOOKUP_IDS = [service for _, service in LOOKUPS]


@pytest.mark.parametrize(("method", "service"), LOOKUPS, ids=LOOKUP_IDS)
def test_lookup_found(core, method, service) -> None:
    """The id as str; the core's string is freed at once."""
    core.answer(service, result="0a1b2c3d-orthanc-id")

    found = getattr(core.context, method)(" Doe^Zoë %_* ")

    made = core.only_call(service)
    assert made.argument == " Doe^Zoë %_* ".encode()
    assert found == "0a1b2c3d-orthanc-id"
    assert core.freed == made.allocated


@pytest.mark.parametrize(("method", "service"), LOOKUPS, ids=LOOKUP_IDS)
def test_lookup_not_found_is_none(core, method, service) -> None:
    core.answer(service, code=ErrorCode.UNKNOWN_RESOURCE)

    assert getattr(core.context, method)("nobody") is None
    assert core.services() == [service]


@pytest.mark.parametrize(("method", "service"), LOOKUPS, ids=LOOKUP_IDS)
def test_lookup_before_start_says_when_to_call(core, method, service) -> None:
    """DATABASE_NOT_INITIALIZED raises NotReadyError, with the remedy."""
    core.answer(service, code=ErrorCode.DATABASE_NOT_INITIALIZED)

    with pytest.raises(NotReadyError) as caught:
        getattr(core.context, method)("someone")

    message = str(caught.value)
    assert caught.value.function == "OrthancPlugin" + service
    assert "callback" in message
    assert "ORTHANC_STARTED" in message
    assert "DATABASE_NOT_INITIALIZED" in message


@pytest.mark.parametrize(("method", "service"), LOOKUPS, ids=LOOKUP_IDS)
def test_lookup_other_error_raises(core, method, service) -> None:
    core.answer(service, code=ErrorCode.INTERNAL_ERROR)

    with pytest.raises(OrthancError) as caught:
        getattr(core.context, method)("someone")

    assert caught.value.code is ErrorCode.INTERNAL_ERROR


def test_lookup_answer_that_is_not_utf8_survives(core) -> None:
    core.answer("LookupPatient", result=b"id-\xff")

    assert core.context.lookup_patient("p") == "id-\udcff"


# ---- GetGlobalProperty, SetGlobalProperty -------------------------------


def test_get_global_property_passes_the_default(core) -> None:
    value = core.context.get_global_property(1024, "the default")

    made = core.only_call("GetGlobalProperty")
    assert made.property == 1024
    assert made.value == b"the default"
    assert value == "the default"
    assert core.freed == made.allocated


def test_get_global_property_default_is_empty(core) -> None:
    assert core.context.get_global_property(5000) == ""
    assert core.only_call().value == b""


def test_set_then_get_global_property(core) -> None:
    core.context.set_global_property(1025, "stored é")

    assert core.only_call("SetGlobalProperty").property == 1025
    assert core.calls[0].value == "stored é".encode()
    assert core.context.get_global_property(1025, "unused") == "stored é"


def test_global_property_int32_limits(core) -> None:
    core.context.set_global_property(2**31 - 1, "top")
    core.context.get_global_property(-(2**31))

    assert [call.property for call in core.calls] == [2**31 - 1, -(2**31)]


def test_reserved_property_can_be_read(core) -> None:
    """Below 1024 is Orthanc's own: readable (1 is the schema version)."""
    core.answer("GetGlobalProperty", result="6")

    assert core.context.get_global_property(1) == "6"
    assert core.only_call().property == 1


@pytest.mark.parametrize("number", [1023, 1, 0, -1])
def test_reserved_property_cannot_be_set(core, number) -> None:
    with pytest.raises(ValueError, match="reserved"):
        core.context.set_global_property(number, "x")

    assert core.calls == []


def test_set_global_property_error(core) -> None:
    core.answer("SetGlobalProperty", code=ErrorCode.DATABASE_NOT_INITIALIZED)

    with pytest.raises(NotReadyError) as caught:
        core.context.set_global_property(4096, "x")

    assert caught.value.function == "OrthancPluginSetGlobalProperty"
    assert caught.value.detail == "4096"
    assert core.properties == {}


def test_get_global_property_error(core) -> None:
    core.answer("GetGlobalProperty", code=ErrorCode.INTERNAL_ERROR)

    with pytest.raises(OrthancError) as caught:
        core.context.get_global_property(4096, "default")

    assert caught.value.function == "OrthancPluginGetGlobalProperty"
    assert core.allocations == 0


# ---- GenerateRestApiAuthorizationToken ----------------------------------


def test_generate_rest_api_authorization_token(core) -> None:
    core.answer("GenerateRestApiAuthorizationToken", result="Bearer 1234")

    token = core.context.generate_rest_api_authorization_token()

    made = core.only_call("GenerateRestApiAuthorizationToken")
    assert made.argument is None
    assert token == "Bearer 1234"
    assert core.freed == made.allocated


def test_token_error_raises_without_the_token(core) -> None:
    core.answer("GenerateRestApiAuthorizationToken", code=ErrorCode.PLUGIN)

    with pytest.raises(OrthancError) as caught:
        core.context.generate_rest_api_authorization_token()

    assert caught.value.code is ErrorCode.PLUGIN
    assert "Bearer" not in str(caught.value)


# ---- configuration and log ----------------------------------------------


def test_configuration_is_read_once(core) -> None:
    core.answer("GetConfiguration", result='{"Name": "Zoë", "HttpPort": 1}')

    first = core.context.configuration
    second = core.context.configuration

    assert first == {"Name": "Zoë", "HttpPort": 1}
    assert second is first
    assert core.services() == ["GetConfiguration"]
    assert core.frees == 1


def test_configuration_failure_raises(core) -> None:
    core.answer("GetConfiguration", code=ErrorCode.INTERNAL_ERROR)

    with pytest.raises(OrthancError) as caught:
        core.context.configuration  # noqa: B018 (the property is the call)

    assert caught.value.function == "OrthancPluginGetConfiguration"


@pytest.mark.parametrize(
    ("level", "service"),
    [
        (logging.CRITICAL, "LogError"),
        (logging.ERROR, "LogError"),
        (logging.WARNING, "LogWarning"),
        (logging.INFO, "LogInfo"),
        (logging.DEBUG, "LogInfo"),
    ],
)
def test_log(core, level, service) -> None:
    """The message is the parameters; a NUL cannot cut it short."""
    core.context.log(level, "a\0b Zoë")

    assert core.only_call(service).message == "a\\0b Zoë".encode()


@pytest.mark.parametrize(
    ("level", "message"),
    [
        (logging.INFO, None),
        (logging.INFO, b"bytes"),
        (logging.INFO, 5),
        (None, "text"),
        ("INFO", "text"),
        (True, "text"),
    ],
)
def test_log_bad_input_is_a_type_error(core, level, message) -> None:
    with pytest.raises(TypeError):
        core.context.log(level, message)

    assert core.calls == []


def test_log_while_orthanc_stops_still_reaches_the_core(core) -> None:
    core.context.close()

    core.context.log(logging.ERROR, "stopping")

    assert core.only_call("LogError").message == b"stopping"


def test_log_after_detach_is_dropped(core) -> None:
    core.context.close(detach=True)

    core.context.log(logging.ERROR, "too late")

    assert core.calls == []


# ---- after close --------------------------------------------------------

EVERY_METHOD = [
    lambda c: c.rest_api_get("/u"),
    lambda c: c.rest_api_get("/u", headers={}),
    lambda c: c.rest_api_get("/u", after_plugins=True),
    lambda c: c.rest_api_post("/u", b""),
    lambda c: c.rest_api_post("/u", b"", after_plugins=True),
    lambda c: c.rest_api_put("/u", b""),
    lambda c: c.rest_api_put("/u", b"", after_plugins=True),
    lambda c: c.rest_api_delete("/u"),
    lambda c: c.rest_api_delete("/u", after_plugins=True),
    lambda c: c.call_rest_api("GET", "/u"),
    lambda c: c.get_dicom_for_instance("i"),
    lambda c: c.lookup_patient("p"),
    lambda c: c.lookup_study("s"),
    lambda c: c.lookup_study_with_accession_number("a"),
    lambda c: c.lookup_series("s"),
    lambda c: c.lookup_instance("i"),
    lambda c: c.get_global_property(1024),
    lambda c: c.set_global_property(1024, "v"),
    lambda c: c.generate_rest_api_authorization_token(),
    lambda c: c.configuration,
]


@pytest.mark.parametrize("call", EVERY_METHOD)
def test_every_method_is_refused_after_close(core, call) -> None:
    assert core.context.close() is True

    with pytest.raises(ContextClosedError):
        call(core.context)

    assert core.context.closed
    assert "closed" in repr(core.context)
    assert core.calls == []


def test_close_is_idempotent(core) -> None:
    assert core.context.close() is True
    assert core.context.close() is True
    assert core.context.closed


def test_close_refuses_a_nan_timeout(core) -> None:
    """NaN is no deadline: refused before anything is closed."""
    with pytest.raises(ValueError, match="NaN"):
        core.context.close(float("nan"))
    assert not core.context.closed


# ---- concurrency --------------------------------------------------------


def _echo(call: Call) -> Answer:
    """An answer made of the request itself: nothing shared."""
    key = call.uri or call.argument or str(call.property).encode()
    echo = call.service.encode() + b" " + key + b" " + (call.body or b"")
    return Answer(body=echo, result=echo)


def test_eight_threads_each_get_their_own_answer(core) -> None:
    """Eight methods at once on one context; every answer is the right one."""
    for service in (
        "RestApiGet",
        "RestApiGet2",
        "RestApiPost",
        "RestApiPut",
        "CallRestApi",
        "GetDicomForInstance",
        "LookupSeries",
        "GetGlobalProperty",
    ):
        core.answer(service, _echo)
    context = core.context
    rounds = 100
    workers = {
        "RestApiGet": lambda i: bytes(context.rest_api_get(f"/get/{i}")),
        "RestApiGet2": lambda i: bytes(
            context.rest_api_get(f"/get2/{i}", headers={"n": str(i)})
        ),
        "RestApiPost": lambda i: bytes(
            context.rest_api_post(f"/post/{i}", {"n": i})
        ),
        "RestApiPut": lambda i: bytes(
            context.rest_api_put(f"/put/{i}", str(i))
        ),
        "CallRestApi": lambda i: bytes(
            context.call_rest_api("POST", f"/call/{i}", body=b"%d" % i).body
        ),
        "GetDicomForInstance": lambda i: bytes(
            context.get_dicom_for_instance(f"instance-{i}")
        ),
        "LookupSeries": lambda i: context.lookup_series(f"1.2.{i}").encode(),
        "GetGlobalProperty": lambda i: context.get_global_property(
            1024 + i
        ).encode(),
    }
    expected = {
        "RestApiGet": lambda i: b"RestApiGet /get/%d " % i,
        "RestApiGet2": lambda i: b"RestApiGet2 /get2/%d " % i,
        "RestApiPost": lambda i: b'RestApiPost /post/%d {"n": %d}' % (i, i),
        "RestApiPut": lambda i: b"RestApiPut /put/%d %d" % (i, i),
        "CallRestApi": lambda i: b"CallRestApi /call/%d %d" % (i, i),
        "GetDicomForInstance": lambda i: (
            b"GetDicomForInstance instance-%d " % i
        ),
        "LookupSeries": lambda i: b"LookupSeries 1.2.%d " % i,
        "GetGlobalProperty": lambda i: b"GetGlobalProperty %d " % (1024 + i),
    }
    start = threading.Barrier(len(workers))
    failures: list[str] = []
    threads_of: dict[str, int] = {}

    def run(service: str) -> None:
        threads_of[service] = threading.get_ident()
        start.wait()
        for i in range(rounds):
            got = workers[service](i)
            if got != expected[service](i):
                failures.append(f"{service} #{i}: {got!r}")

    threads = [threading.Thread(target=run, args=(s,)) for s in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert failures == []
    assert len(core.calls) == rounds * len(workers)
    services_by_thread = defaultdict(set)
    for call in core.calls:
        services_by_thread[call.thread].add(call.service)
    assert services_by_thread == {
        threads_of[service]: {service} for service in workers
    }


def _call_in_flight(
    core, service: str, make_call: Callable[[], Buffer]
) -> tuple[threading.Thread, threading.Event, list[Buffer]]:
    """Start ``make_call`` on a thread, held inside the core's ``service``.

    Returns the thread, the event that lets the core answer (b"late"), and
    the list that receives the answer.
    """
    inside, go_on = threading.Event(), threading.Event()

    def slow(call: Call) -> Answer:
        inside.set()
        go_on.wait(10)
        return Answer(body=b"late")

    core.answer(service, slow)
    answers: list[Buffer] = []
    thread = threading.Thread(target=lambda: answers.append(make_call()))
    thread.start()
    assert inside.wait(10)
    return thread, go_on, answers


def test_close_waits_for_a_call_in_flight(core) -> None:
    """close() times out while a call runs; later calls are refused."""
    thread, go_on, answers = _call_in_flight(
        core, "RestApiGet", lambda: core.context.rest_api_get("/slow")
    )

    assert core.context.close(timeout=0.05) is False
    with pytest.raises(ContextClosedError):
        core.context.rest_api_get("/refused")
    go_on.set()
    thread.join(10)
    assert core.context.close(timeout=5) is True

    assert core.services() == ["RestApiGet"]
    assert answers[0] == b"late"
    # Closed, not detached: the core is alive, the answer goes back to it.
    answers.pop().release()
    assert core.frees == 1


def test_close_wakes_when_the_call_in_flight_ends(core) -> None:
    """close() returns True as soon as the last call leaves, not later."""
    thread, go_on, answers = _call_in_flight(
        core,
        "GetDicomForInstance",
        lambda: core.context.get_dicom_for_instance("i"),
    )
    timer = threading.Timer(0.2, go_on.set)
    timer.start()

    started = time.monotonic()
    assert core.context.close(timeout=30) is True
    waited = time.monotonic() - started
    thread.join(10)
    timer.join(10)

    assert 0.1 < waited < 10
    assert bytes(answers[0]) == b"late"
    answers.pop().release()
    assert core.frees == 1
