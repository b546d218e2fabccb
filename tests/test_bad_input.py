# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad Python input is refused before any C call; good input arrives intact.

Every refusal below is a ``TypeError`` or ``ValueError`` and leaves the
fake core with zero recorded calls.  The property-based tests then send
random URIs, bodies and headers: either exactly those bytes reach the core,
or the documented exception is raised and nothing does.
"""

import gc
import mmap

import numpy as np
import pytest
from conftest import c_string_or_error
from fakecore import Answer, FakeCore
from hypothesis import given, settings
from hypothesis import strategies as st

from orthanc_sdk import Context, HttpMethod, ffi

pytest_plugins = ("fakecore",)

# ---- strings ------------------------------------------------------------

# Every place a method takes a C string: (name, call with the value).
STRING_SLOTS = [
    ("get uri", lambda c, v: c.rest_api_get(v)),
    ("get after uri", lambda c, v: c.rest_api_get(v, after_plugins=True)),
    ("get2 uri", lambda c, v: c.rest_api_get(v, headers={})),
    ("get2 header name", lambda c, v: c.rest_api_get("/", headers=[(v, "")])),
    ("get2 header value", lambda c, v: c.rest_api_get("/", headers={"": v})),
    ("post uri", lambda c, v: c.rest_api_post(v, b"")),
    ("post after uri", lambda c, v: c.rest_api_post(v, b"", after_plugins=1)),
    ("put uri", lambda c, v: c.rest_api_put(v, b"")),
    ("put after uri", lambda c, v: c.rest_api_put(v, b"", after_plugins=1)),
    ("delete uri", lambda c, v: c.rest_api_delete(v)),
    ("delete after uri", lambda c, v: c.rest_api_delete(v, after_plugins=1)),
    ("call uri", lambda c, v: c.call_rest_api("GET", v)),
    (
        "call header name",
        lambda c, v: c.call_rest_api("GET", "/", headers={v: ""}),
    ),
    (
        "call header value",
        lambda c, v: c.call_rest_api("GET", "/", headers={"": v}),
    ),
    ("dicom instance id", lambda c, v: c.get_dicom_for_instance(v)),
    ("lookup patient", lambda c, v: c.lookup_patient(v)),
    ("lookup study", lambda c, v: c.lookup_study(v)),
    ("lookup accession", lambda c, v: c.lookup_study_with_accession_number(v)),
    ("lookup series", lambda c, v: c.lookup_series(v)),
    ("lookup instance", lambda c, v: c.lookup_instance(v)),
    ("property default", lambda c, v: c.get_global_property(1024, v)),
    ("property value", lambda c, v: c.set_global_property(1024, v)),
]

BAD_STRINGS = [
    (None, TypeError),
    (1, TypeError),
    (1.5, TypeError),
    (["/u"], TypeError),
    (bytearray(b"/u"), TypeError),
    (memoryview(b"/u"), TypeError),
    ("/a\0b", ValueError),
    (b"/a\0b", ValueError),
    ("\0", ValueError),
    ("/lone/\ud800", ValueError),
]


@pytest.mark.parametrize(("value", "error"), BAD_STRINGS)
@pytest.mark.parametrize(
    "call",
    [call for _, call in STRING_SLOTS],
    ids=[n for n, _ in STRING_SLOTS],
)
def test_bad_string(core, call, value, error) -> None:
    with pytest.raises(error):
        call(core.context, value)

    assert core.calls == []


# ---- bodies -------------------------------------------------------------

BODY_SLOTS = [
    ("post", lambda c, b: c.rest_api_post("/u", b)),
    ("post after", lambda c, b: c.rest_api_post("/u", b, after_plugins=True)),
    ("put", lambda c, b: c.rest_api_put("/u", b)),
    ("put after", lambda c, b: c.rest_api_put("/u", b, after_plugins=True)),
    ("call", lambda c, b: c.call_rest_api("POST", "/u", body=b)),
]
BODY_IDS = [name for name, _ in BODY_SLOTS]


def _released() -> memoryview:
    view = memoryview(b"gone")
    view.release()
    return view


BAD_BODIES = [
    pytest.param(1, TypeError, id="int"),
    pytest.param(1.5, TypeError, id="float"),
    pytest.param(object(), TypeError, id="object"),
    pytest.param((1, 2), TypeError, id="tuple"),
    pytest.param({1, 2}, TypeError, id="set"),
    pytest.param(memoryview(b"abcdef")[::2], TypeError, id="strided-view"),
    pytest.param(np.arange(8)[::2], ValueError, id="strided-array"),
    pytest.param({"a": object()}, TypeError, id="dict-not-json"),
    # json.dumps would write NaN, which is not JSON: Orthanc answers BadJson.
    pytest.param({"a": float("nan")}, ValueError, id="dict-nan"),
    pytest.param([float("inf")], ValueError, id="list-infinity"),
    pytest.param("\ud800", ValueError, id="str-lone-surrogate"),
    pytest.param(_released(), ValueError, id="released-view"),
]


@pytest.mark.parametrize(("body", "error"), BAD_BODIES)
@pytest.mark.parametrize(
    "call", [call for _, call in BODY_SLOTS], ids=BODY_IDS
)
def test_bad_body(core, call, body, error) -> None:
    with pytest.raises(error):
        call(core.context, body)

    assert core.calls == []


@pytest.mark.parametrize("method", ["rest_api_post", "rest_api_put"])
def test_post_put_body_none(core, method) -> None:
    """call_rest_api has no body by default; POST and PUT need one."""
    with pytest.raises(TypeError, match="None"):
        getattr(core.context, method)("/u", None)

    assert core.calls == []


def _sparse_map(folder, size: int) -> mmap.mmap:
    """A read-only map of a sparse file: address space, no RAM."""
    path = folder / f"sparse-{size}"
    with open(path, "wb") as file:
        file.truncate(size)
    with open(path, "rb") as file:
        return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)


@pytest.fixture(scope="module")
def four_gib(tmp_path_factory):
    mapped = _sparse_map(tmp_path_factory.mktemp("bodies"), 2**32)
    yield mapped
    gc.collect()  # views held by the tracebacks of refused calls
    mapped.close()


@pytest.mark.parametrize(
    "call", [call for _, call in BODY_SLOTS], ids=BODY_IDS
)
def test_body_of_4_gib_is_refused(core, call, four_gib) -> None:
    """The SDK carries sizes as uint32: 2**32 bytes cannot travel."""
    assert len(four_gib) == 2**32

    with pytest.raises(ValueError, match="4 GiB"):
        call(core.context, four_gib)

    assert core.calls == []


def test_largest_body_is_sent_uncopied(core, four_gib) -> None:
    """2**32 - 1 bytes still travel, from the map itself."""
    core.keep_bodies = False
    largest = memoryview(four_gib)[1:]

    core.context.rest_api_post("/u", largest).release()

    made = core.only_call("RestApiPost")
    assert made.body_size == 2**32 - 1
    assert made.body_address == int(
        ffi.cast("uintptr_t", ffi.from_buffer(largest))
    )
    largest.release()


# ---- global properties --------------------------------------------------

BAD_PROPERTIES = [
    (None, TypeError),
    ("1024", TypeError),
    (1024.0, TypeError),
    (True, TypeError),
    (False, TypeError),
    (np.float32(1024), TypeError),
    (2**31, ValueError),
    (-(2**31) - 1, ValueError),
    (2**64, ValueError),
]


@pytest.mark.parametrize(("number", "error"), BAD_PROPERTIES)
@pytest.mark.parametrize(
    "call",
    [
        lambda c, n: c.get_global_property(n),
        lambda c, n: c.set_global_property(n, "v"),
    ],
    ids=["get", "set"],
)
def test_bad_property(core, call, number, error) -> None:
    with pytest.raises(error):
        call(core.context, number)

    assert core.calls == []


@pytest.mark.parametrize("number", [1023, 1, 0, -1, -(2**31)])
def test_reserved_property_is_not_set(core, number) -> None:
    with pytest.raises(ValueError, match="1024"):
        core.context.set_global_property(number, "v")

    assert core.calls == []


# ---- HTTP methods and headers -------------------------------------------

BAD_METHODS = [
    (None, TypeError),
    (1.0, TypeError),
    (True, TypeError),
    (b"GET", TypeError),
    (["GET"], TypeError),
    ("PATCH", ValueError),
    ("", ValueError),
    ("GE T", ValueError),
    (99, ValueError),
    (-1, ValueError),
]


@pytest.mark.parametrize(("method", "error"), BAD_METHODS)
def test_bad_method(core, method, error) -> None:
    with pytest.raises(error):
        core.context.call_rest_api(method, "/u")

    assert core.calls == []


BAD_HEADERS = [
    ("a: b", TypeError),
    (b"a: b", TypeError),
    (5, TypeError),
    ([("a",)], TypeError),
    ([("a", "b", "c")], TypeError),
    ([1], TypeError),
    ({1: "v"}, TypeError),
    ({"a": None}, TypeError),
    ({"a": 1}, TypeError),
    ({"a\0": "v"}, ValueError),
    # A two-character string would unpack as a (name, value) pair.
    (["ab"], TypeError),
    ([b"ab"], TypeError),
    # Empty or zero: still not headers.
    ("", TypeError),
    (b"", TypeError),
    (0, TypeError),
]


@pytest.mark.parametrize(("headers", "error"), BAD_HEADERS)
@pytest.mark.parametrize(
    "call",
    [
        lambda c, h: c.rest_api_get("/u", headers=h),
        lambda c, h: c.call_rest_api("GET", "/u", headers=h),
    ],
    ids=["rest_api_get", "call_rest_api"],
)
def test_bad_headers(core, call, headers, error) -> None:
    with pytest.raises(error):
        call(core.context, headers)

    assert core.calls == []


# ---- routes -------------------------------------------------------------


@pytest.mark.parametrize("regex", ["/bad/(", "/bad/[a-", "/bad/x{2,1}"])
def test_invalid_route_regex_is_refused(core, regex) -> None:
    """Orthanc's regex_error would cross the C and Python frames, and stop
    Orthanc ("Uncaught exception, stopping now")."""
    with pytest.raises(ValueError, match="regular expression"):
        core.context.register_rest_callback(regex, lambda request: None)

    assert core.calls == []
    assert core.context._keepalive == []


@pytest.mark.parametrize(
    "regex", ["/named/(?<id>[0-9]+)", "/behind/(?<=x)y", "/not/(?<!x)y"]
)
def test_perl_regex_python_lacks_is_registered(core, regex) -> None:
    """Orthanc's syntax has (?<name>...), which Python 3.11 spells (?P<"""
    core.context.register_rest_callback(regex, lambda request: None)

    assert len(core.calls) == 1


# ---- the context pointer ------------------------------------------------


@pytest.mark.parametrize(
    ("pointer", "error"),
    [
        (None, TypeError),
        (1.5, TypeError),
        (True, TypeError),
        ("0x1", TypeError),
        (ffi.new("int *"), TypeError),
        (0, ValueError),
        (ffi.cast("OrthancPluginContext *", 0), ValueError),
    ],
)
def test_bad_context_pointer(pointer, error) -> None:
    with pytest.raises(error):
        Context(pointer)


def test_pointer_of_another_cffi_module_is_refused(core) -> None:
    """Another module's cdata is another type: pass the address instead."""
    with pytest.raises(TypeError, match="int"):
        Context(core._struct)

    same = Context(core.address)
    assert same.orthanc_version == core.version
    assert core.calls == []


# ---- property-based round trips -----------------------------------------

ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
STRINGS = st.one_of(ANY_TEXT, st.binary(max_size=40))
BOUNDED = settings(max_examples=200, deadline=None, database=None)


def _echo(call) -> Answer:
    return Answer(body=call.uri + b"|" + (call.body or b""), status=299)


@BOUNDED
@given(uri=STRINGS, body=st.binary(max_size=2048))
def test_post_round_trip(uri, body) -> None:
    expected = c_string_or_error(uri)
    with FakeCore() as core:
        core.answer("RestApiPost", _echo)

        if expected is ValueError:
            with pytest.raises(ValueError):
                core.context.rest_api_post(uri, body)
            assert core.calls == []
            return
        answer = core.context.rest_api_post(uri, body)

        made = core.only_call("RestApiPost")
        assert made.uri == expected
        assert made.body == body
        assert made.body_size == len(body)
        assert answer == expected + b"|" + body
        answer.release()


@BOUNDED
@given(uri=STRINGS, headers=st.lists(st.tuples(STRINGS, STRINGS), max_size=4))
def test_get_round_trip(uri, headers) -> None:
    flat = [text for pair in headers for text in pair]
    expected = [c_string_or_error(value) for value in [uri, *flat]]
    with FakeCore() as core:
        core.answer("RestApiGet2", _echo)

        if ValueError in expected:
            with pytest.raises(ValueError):
                core.context.rest_api_get(uri, headers=headers)
            assert core.calls == []
            return
        answer = core.context.rest_api_get(uri, headers=headers)

        made = core.only_call("RestApiGet2")
        sent, *pairs = expected
        assert made.uri == sent
        assert made.headers == list(zip(pairs[::2], pairs[1::2], strict=True))
        assert answer == sent + b"|"
        answer.release()


METHODS = st.sampled_from(
    [*HttpMethod, "get", "POST", "Put", "delete", 1, 2, 3, 4]
)


@BOUNDED
@given(
    method=METHODS,
    uri=STRINGS,
    body=st.one_of(st.none(), st.binary(max_size=1024)),
    headers=st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=3),
)
def test_call_rest_api_round_trip(method, uri, body, headers) -> None:
    flat = [text for pair in headers.items() for text in pair]
    expected = [c_string_or_error(value) for value in [uri, *flat]]
    with FakeCore() as core:
        core.answer("CallRestApi", _echo)

        if ValueError in expected:
            with pytest.raises(ValueError):
                core.context.call_rest_api(
                    method, uri, body=body, headers=headers
                )
            assert core.calls == []
            return
        response = core.context.call_rest_api(
            method, uri, body=body, headers=headers
        )

        made = core.only_call("CallRestApi")
        sent, *pairs = expected
        if isinstance(method, str):
            assert made.method == HttpMethod[method.upper()]
        else:
            assert made.method == method
        assert made.uri == sent
        assert made.body == body
        assert made.body_size == len(body or b"")
        assert made.headers == list(zip(pairs[::2], pairs[1::2], strict=True))
        assert response.status == 299
        assert response.body == sent + b"|" + (body or b"")
        response.body.release()
