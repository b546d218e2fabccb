# SPDX-License-Identifier: GPL-3.0-or-later
"""Random input through every wrapper, over the fake core.

For every string a ``Context`` method sends (URIs, identifiers, lookup
values, property values and defaults) and every answer it reads back
(buffers, strings), random text and bytes either travel exactly (the core
sees those bytes, the caller gets the core's bytes back) or the call raises
the documented ``ValueError`` and the core sees no call.  Every example
also checks that all memory came back.  ``test_bad_input.py`` covers POST,
GET with headers and ``call_rest_api`` the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import c_string_or_error
from fakecore import Answer, Call, FakeCore
from hypothesis import given, settings
from hypothesis import strategies as st

from orthanc_sdk import Context

pytest_plugins = ("fakecore",)

BOUNDED = settings(max_examples=200, deadline=None, database=None)
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
STRINGS = st.one_of(ANY_TEXT, st.binary(max_size=40))
ANSWERS = st.binary(max_size=512)
# What a core sends back as a C string cannot hold a NUL.
C_STRINGS = st.binary(max_size=64).map(lambda data: data.replace(b"\0", b""))


def _uri(call: Call) -> bytes | None:
    return call.uri


def _argument(call: Call) -> bytes | None:
    return call.argument


# name: (service, call with the value, what the core saw)
BUFFER_SLOTS: dict[
    str, tuple[str, Callable[[Context, Any], Any], Callable[[Call], Any]]
] = {
    "rest_api_get": ("RestApiGet", lambda c, v: c.rest_api_get(v), _uri),
    "rest_api_get after": (
        "RestApiGetAfterPlugins",
        lambda c, v: c.rest_api_get(v, after_plugins=True),
        _uri,
    ),
    "rest_api_put": ("RestApiPut", lambda c, v: c.rest_api_put(v, b"b"), _uri),
    "rest_api_put after": (
        "RestApiPutAfterPlugins",
        lambda c, v: c.rest_api_put(v, b"b", after_plugins=True),
        _uri,
    ),
    "rest_api_post after": (
        "RestApiPostAfterPlugins",
        lambda c, v: c.rest_api_post(v, b"b", after_plugins=True),
        _uri,
    ),
    "get_dicom_for_instance": (
        "GetDicomForInstance",
        lambda c, v: c.get_dicom_for_instance(v),
        _argument,
    ),
}


@BOUNDED
@pytest.mark.parametrize("slot", list(BUFFER_SLOTS))
@given(value=STRINGS, answer=ANSWERS)
def test_buffer_wrappers_round_trip(slot, value, answer) -> None:
    service, invoke, seen = BUFFER_SLOTS[slot]
    expected = c_string_or_error(value)
    with FakeCore() as core:
        core.answer(service, body=answer)

        if expected is ValueError:
            with pytest.raises(ValueError):
                invoke(core.context, value)
            assert core.calls == []
            return
        with invoke(core.context, value) as buffer:
            assert buffer == answer
            assert len(buffer) == len(answer)

        assert seen(core.only_call(service)) == expected


@BOUNDED
@pytest.mark.parametrize("after", [False, True])
@given(value=STRINGS)
def test_delete_round_trip(after, value) -> None:
    service = "RestApiDelete" + ("AfterPlugins" if after else "")
    expected = c_string_or_error(value)
    with FakeCore() as core:
        if expected is ValueError:
            with pytest.raises(ValueError):
                core.context.rest_api_delete(value, after_plugins=after)
            assert core.calls == []
            return
        assert core.context.rest_api_delete(value, after_plugins=after) is None

        assert core.only_call(service).uri == expected


LOOKUPS = {
    "lookup_patient": "LookupPatient",
    "lookup_study": "LookupStudy",
    "lookup_study_with_accession_number": "LookupStudyWithAccessionNumber",
    "lookup_series": "LookupSeries",
    "lookup_instance": "LookupInstance",
}


@BOUNDED
@pytest.mark.parametrize("method", list(LOOKUPS))
@given(value=STRINGS, result=C_STRINGS)
def test_lookups_round_trip(method, value, result) -> None:
    service = LOOKUPS[method]
    expected = c_string_or_error(value)
    with FakeCore() as core:
        core.answer(service, result=result)
        function = getattr(core.context, method)

        if expected is ValueError:
            with pytest.raises(ValueError):
                function(value)
            assert core.calls == []
            return
        found = function(value)

        assert core.only_call(service).argument == expected
        # Bytes that are not UTF-8 come back as lone surrogates.
        assert found.encode("utf-8", "surrogateescape") == result


INT32 = (-(2**31), 2**31 - 1)
PROPERTIES = st.one_of(
    st.integers(1000, 1100),
    st.integers(*INT32),
    st.integers(-(2**40), 2**40),
)


@BOUNDED
@given(number=PROPERTIES, value=STRINGS, stored=C_STRINGS)
def test_global_properties_round_trip(number, value, stored) -> None:
    expected = c_string_or_error(value)
    in_range = INT32[0] <= number <= INT32[1]
    with FakeCore() as core:
        context = core.context

        if not in_range or number < 1024 or expected is ValueError:
            with pytest.raises(ValueError):
                context.set_global_property(number, value)
        else:
            context.set_global_property(number, value)
            made = core.only_call("SetGlobalProperty")
            assert (made.property, made.value) == (number, expected)
            assert context.get_global_property(number) == (
                expected.decode("utf-8", "surrogateescape")
            )
        calls = len(core.calls)

        core.answer("GetGlobalProperty", result=stored)
        if not in_range or expected is ValueError:
            with pytest.raises(ValueError):
                context.get_global_property(number, value)
            assert len(core.calls) == calls
            return
        found = context.get_global_property(number, value)
        made = core.calls[-1]
        assert (made.property, made.value) == (number, expected)
        assert found.encode("utf-8", "surrogateescape") == stored


@BOUNDED
@given(token=C_STRINGS)
def test_token_round_trip(token) -> None:
    with FakeCore() as core:
        core.answer("GenerateRestApiAuthorizationToken", result=token)

        found = core.context.generate_rest_api_authorization_token()

        assert found.encode("utf-8", "surrogateescape") == token


@BOUNDED
@given(
    body=ANSWERS,
    headers=st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=4),
    status=st.integers(100, 599),
)
def test_call_rest_api_answers_round_trip(body, headers, status) -> None:
    """Answer body, headers (JSON, as Orthanc sends them) and status."""
    with FakeCore() as core:
        core.answer(
            "CallRestApi",
            Answer(body=body, headers=json.dumps(headers), status=status),
        )

        response = core.context.call_rest_api("GET", "/u")

        with response.body as answer:
            assert answer == body
        assert response.headers == headers
        assert response.status == status
