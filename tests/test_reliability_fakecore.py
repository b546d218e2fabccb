# SPDX-License-Identifier: GPL-3.0-or-later
"""The leak scenarios against the fake core: every block comes back.

The same sequences as ``test_reliability_leaks.py`` runs in Orthanc, with
the same counts, against the fake core, which counts what it allocates and
what the binding frees.  After each sequence nothing is outstanding (without
a garbage collection: reference counting alone gives everything back),
every allocation has exactly one free, and nothing was freed twice.  The
failing calls include answers that the core filled before it answered an
error, which the binding must free too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import numpy
import pytest
from fakecore import Answer, FakeCore
from reliability_report import record

from orthanc_sdk import (
    BadFileFormatError,
    ErrorCode,
    OrthancError,
    UnknownResourceError,
)

pytest_plugins = ("fakecore", "reliability_report")

DICOM = bytes(range(256)) * 4096  # 1 MiB


def _system(core: FakeCore, count: int) -> None:
    core.answer("RestApiGet", body=b'{"Name": "fake"}')
    for _ in range(count):
        with core.context.rest_api_get("/system") as answer:
            assert answer.json() == {"Name": "fake"}


def _dicom(core: FakeCore, count: int, keep: int = 0) -> None:
    core.answer("GetDicomForInstance", body=DICOM)
    kept: list = []
    for _ in range(count):
        dicom = core.context.get_dicom_for_instance("i")
        assert len(dicom) == len(DICOM)
        if keep:
            kept.append(numpy.frombuffer(dicom, dtype=numpy.uint8))
            kept.append(memoryview(dicom)[:4])
            del dicom
            assert kept[-1] == DICOM[:4]
            if len(kept) > 2 * keep:
                kept[1].release()
                del kept[:2]
            # Only the kept views hold Orthanc's memory.
            assert core.outstanding() == len(kept) // 2
        else:
            dicom.release()
    for view in kept[1::2]:
        view.release()
    del kept


LOOKUPS = (
    "lookup_patient",
    "lookup_study",
    "lookup_study_with_accession_number",
    "lookup_series",
    "lookup_instance",
)
SERVICES = (
    "LookupPatient",
    "LookupStudy",
    "LookupStudyWithAccessionNumber",
    "LookupSeries",
    "LookupInstance",
)


def _lookups(core: FakeCore, count: int) -> None:
    def respond(call) -> Answer:
        if call.argument.startswith(b"miss"):
            return Answer(code=ErrorCode.UNKNOWN_RESOURCE)
        return Answer(result=b"id-" + call.argument)

    for service in SERVICES:
        core.answer(service, respond)
    for method in LOOKUPS:
        function = getattr(core.context, method)
        for number in range(count):
            if number % 10 == 9:
                assert function("miss") is None
            else:
                assert function("v\u00e9") == "id-v\u00e9"


def _properties(core: FakeCore, count: int) -> None:
    for number in range(count):
        value = f"value {number} \u00e9"
        core.context.set_global_property(5000 + number % 8, value)
        assert core.context.get_global_property(5000 + number % 8) == value


def _call_headers(core: FakeCore, count: int) -> None:
    def respond(call) -> Answer:
        names = {k.decode(): v.decode() for k, v in call.headers}
        return Answer(body=call.uri, headers=names)

    core.answer("CallRestApi", respond)
    for number in range(count):
        response = core.context.call_rest_api(
            "GET", "/u", headers={"x-n": str(number)}
        )
        with response.body as body:
            assert body == b"/u"
        assert response.headers == {"x-n": str(number)}


def _failing(core: FakeCore, count: int) -> None:
    unknown = ErrorCode.UNKNOWN_RESOURCE
    # The core fills the answer, then answers an error: freed all the same.
    core.answer(
        "RestApiGet", Answer(code=unknown, body=b"partial", fill_on_error=True)
    )
    core.answer("RestApiPost", code=ErrorCode.BAD_FILE_FORMAT)
    core.answer("GetDicomForInstance", code=unknown)
    core.answer(
        "CallRestApi",
        lambda call: (
            Answer(status=404)
            if call.uri.startswith(b"/no")
            else Answer(
                code=ErrorCode.BAD_REQUEST,
                body=b"x",
                headers={"a": "b"},
                fill_on_error=True,
            )
        ),
    )
    for _ in range(count):
        with pytest.raises(UnknownResourceError):
            core.context.rest_api_get("/instances/missing")
        with pytest.raises(BadFileFormatError):
            core.context.rest_api_post("/tools/find", b"{not json")
        with pytest.raises(UnknownResourceError):
            core.context.get_dicom_for_instance("missing")
        response = core.context.call_rest_api("GET", "/no-such-route")
        assert response.status == 404 and len(response.body) == 0
        with pytest.raises(OrthancError):
            core.context.call_rest_api("POST", "/bad", body=b"")


SEQUENCES: dict[str, tuple[int, Callable[[FakeCore, int], None]]] = {
    "rest_api_get /system": (20_000, _system),
    "get_dicom_for_instance 1 MiB": (2_000, _dicom),
    "get_dicom_for_instance 1 MiB, views kept": (
        2_000,
        lambda core, n: _dicom(core, n, keep=4),
    ),
    "lookups (5 kinds)": (5_000, _lookups),
    "global property set+get": (5_000, _properties),
    "call_rest_api with headers": (5_000, _call_headers),
    "failing calls (5 kinds)": (1_000, _failing),
}


@pytest.mark.parametrize("sequence", list(SEQUENCES))
def test_sequence_gives_every_block_back(core: FakeCore, sequence) -> None:
    count, run = SEQUENCES[sequence]
    started = time.monotonic()

    run(core, count)

    seconds = time.monotonic() - started
    record(
        f"fake core {sequence}",
        count=count,
        calls=len(core.calls),
        allocations=core.allocations,
        frees=core.frees,
        outstanding=core.outstanding(),
        double_frees=len(core.double_frees()),
        seconds=f"{seconds:.2f}",
    )
    assert core.outstanding() == 0
    assert core.frees == core.allocations
    assert core.double_frees() == []
    assert core.callback_errors == []
    assert len(core.calls) >= count


def test_failing_sequence_allocates(core: FakeCore) -> None:
    """The error paths really get memory to free (the test above counts)."""
    _failing(core, 1)

    # rest_api_get and the failing call_rest_api fill before the error;
    # the 404 call has no body.
    assert core.allocations == 3
    assert core.frees == 3
    json.dumps(core.services())  # every service name is plain text
