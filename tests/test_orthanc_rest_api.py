# SPDX-License-Identifier: GPL-3.0-or-later
"""rest_api_get/post/put/delete and call_rest_api against real HTTP.

Each call runs inside Orthanc through ``/probe/call`` (see
``tests/plugins/main_probe.py``), which answers the length and SHA-256 of
what the binding got, or the exception class and code; the same request
over HTTP is the reference.
"""

import base64
import hashlib
import json
import os

import pydicom
import pytest
from conftest import (
    Dataset,
    b64,
    error_status,
    log_records,
    make_dicom,
    orthanc_version,
    probe_calls,
)

from orthanc_sdk import ErrorCode
from orthanc_sdk.server import HttpResponse

pytestmark = pytest.mark.orthanc

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def same_as(answer: HttpResponse) -> dict:
    """What /probe/call answers for a 200 HTTP answer."""
    assert answer.status == 200, answer.text
    return {
        "ok": True,
        "type": "Buffer",
        "len": len(answer.body),
        "sha256": hashlib.sha256(answer.body).hexdigest(),
    }


def expected_codes(answer: HttpResponse) -> set[int]:
    """The error codes an SDK REST call may raise for this HTTP answer.

    On 1.10.1 (FACTS.md, checked here): a route that throws gives its own
    code, which the HTTP answer shows as "OrthancStatus"; a route that
    answers a non-200 status by itself gives UNKNOWN_RESOURCE (17).  The
    1.12 source maps non-200 statuses (401/403 to UNAUTHORIZED, 404 to
    UNKNOWN_RESOURCE, the rest to BAD_REQUEST), so either is accepted
    there.
    """
    own = error_status(answer)
    codes = {own if own is not None else ErrorCode.UNKNOWN_RESOURCE}
    if orthanc_version() >= (1, 12, 0):
        if answer.status in (401, 403):
            codes.add(ErrorCode.UNAUTHORIZED)
        elif answer.status == 404:
            codes.add(ErrorCode.UNKNOWN_RESOURCE)
        else:
            codes.add(ErrorCode.BAD_REQUEST)
    return {int(code) for code in codes}


@pytest.fixture(scope="module")
def ct_instance(orthanc: Dataset) -> str:
    """An instance whose image Orthanc decodes (CT_small.dcm)."""
    path = os.path.join(
        os.path.dirname(pydicom.__file__), "data", "test_files", "CT_small.dcm"
    )
    uid = pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID
    found = orthanc.server.post("/tools/lookup", uid).json()
    assert len(found) == 1
    return found[0]["ID"]


def test_post_tools_find(orthanc: Dataset) -> None:
    server = orthanc.server
    queries = [
        {"Level": "Patient", "Query": {}},
        {"Level": "Study", "Query": {"PatientID": "SCS*"}, "Expand": True},
        {"Level": "Instance", "Query": {"Modality": "MR"}, "Limit": 5},
        {"Level": "Series", "Query": {"Modality": "CT\\MR"}},
    ]
    answers = probe_calls(
        server,
        [{"fn": "post", "uri": "/tools/find", "body": q} for q in queries],
    )
    for query, answer in zip(queries, answers, strict=True):
        assert answer == same_as(server.post("/tools/find", query)), query


def test_put_with_an_empty_answer(orthanc: Dataset) -> None:
    """PUT /patients/{id}/protected answers nothing: an empty Buffer."""
    server = orthanc.server
    patient = server.get("/patients").json()[0]
    uri = f"/patients/{patient}/protected"

    put, get = probe_calls(
        server,
        [
            {"fn": "put", "uri": uri, "body": "1"},
            {"fn": "get", "uri": uri, "want_body": True},
        ],
    )
    assert put == {
        "ok": True,
        "type": "Buffer",
        "len": 0,
        "sha256": EMPTY_SHA256,
    }
    assert get.pop("body") == b64(b"1")
    assert get == same_as(server.get(uri))

    answer = server.put(uri, "0")
    assert (answer.status, answer.body) == (200, b"")
    (get,) = probe_calls(server, [{"fn": "get", "uri": uri}])
    assert get == same_as(server.get(uri))
    assert server.get(uri).body == b"0"


def test_upload_and_delete(orthanc: Dataset) -> None:
    """A DICOM body (NUL bytes in it) goes through rest_api_post intact."""
    server = orthanc.server
    dicom = make_dicom("PROBE-UPLOAD")

    (posted,) = probe_calls(
        server,
        [
            {
                "fn": "post",
                "uri": "/instances",
                "body_b64": b64(dicom),
                "want_body": True,
            }
        ],
    )
    stored = json.loads(base64.b64decode(posted["body"]))
    assert stored["Status"] == "Success"
    instance = stored["ID"]
    again = server.post(
        "/instances", dicom, headers={"Content-Type": "application/dicom"}
    ).json()
    assert again["Status"] == "AlreadyStored"
    assert {k: v for k, v in again.items() if k != "Status"} == {
        k: v for k, v in stored.items() if k != "Status"
    }
    assert server.get(f"/instances/{instance}/file").body == dicom

    uri = f"/instances/{instance}"
    deleted, deleted_again, get = probe_calls(
        server,
        [
            {"fn": "delete", "uri": uri},
            {"fn": "delete", "uri": uri},
            {"fn": "get", "uri": uri},
        ],
    )
    assert deleted == {"ok": True, "result": "None"}
    assert server.get(uri).status == 404
    answer = server.delete(uri)
    assert answer.status == 404
    for failed in (deleted_again, get):
        assert failed["ok"] is False
        assert failed["error"] == "UnknownResourceError"
    assert deleted_again["code"] in expected_codes(answer)
    assert get["code"] in expected_codes(server.get(uri))

    # Stored again over HTTP, deleted over HTTP: both sides agree.
    answer = server.post("/instances", dicom)
    assert answer.json()["Status"] == "Success"
    (get,) = probe_calls(server, [{"fn": "get", "uri": uri}])
    assert get == same_as(server.get(uri))
    assert server.delete(uri).status == 200


def test_after_plugins_reaches_plugin_routes(orthanc: Dataset) -> None:
    server = orthanc.server
    body = b"\x00nul\x00bytes\x00"
    uri = "/probe/echo/after/plugins"
    answers = probe_calls(
        server,
        [
            {
                "fn": "get",
                "uri": uri,
                "after_plugins": True,
                "want_body": True,
            },
            {"fn": "get", "uri": uri},
            {
                "fn": "post",
                "uri": uri,
                "body_b64": b64(body),
                "after_plugins": True,
                "want_body": True,
            },
            {"fn": "post", "uri": uri, "body_b64": b64(body)},
            {"fn": "put", "uri": uri, "body": "x", "after_plugins": True},
            {"fn": "put", "uri": uri, "body": "x"},
            {"fn": "delete", "uri": uri, "after_plugins": True},
            {"fn": "delete", "uri": uri},
            {
                "fn": "call",
                "method": "GET",
                "uri": uri,
                "after_plugins": True,
                "want_body": True,
            },
            {"fn": "call", "method": "GET", "uri": uri},
        ],
    )
    echoes = {}
    for index in (0, 2, 8):
        echoes[index] = json.loads(base64.b64decode(answers[index]["body"]))
        assert echoes[index]["url"] == uri
        assert echoes[index]["groups"] == ["after", "plugins"]
    assert echoes[0]["method"] == echoes[8]["method"] == "GET"
    assert echoes[2]["method"] == "POST"
    assert echoes[2]["body_len"] == len(body)
    assert echoes[2]["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert answers[4]["ok"] is True
    assert answers[6] == {"ok": True, "result": "None"}
    assert answers[8]["status"] == 200
    for index in (1, 3, 5, 7):
        assert answers[index]["ok"] is False, index
        assert answers[index]["error"] == "UnknownResourceError", index
    # Without after_plugins, the core does not know the route at all.
    assert answers[9]["ok"] is True
    assert answers[9]["status"] == 404


def test_headers_reach_the_core(orthanc: Dataset, ct_instance: str) -> None:
    """rest_api_get(headers=) and call_rest_api send them: Accept matters."""
    server = orthanc.server
    uri = f"/instances/{ct_instance}/preview"
    magic = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n"}
    for accept, start in magic.items():
        headers = {"Accept": accept}
        get, call = probe_calls(
            server,
            [
                {"fn": "get", "uri": uri, "headers": headers},
                {
                    "fn": "call",
                    "method": "GET",
                    "uri": uri,
                    "headers": headers,
                    "want_body": True,
                },
            ],
        )
        answer = server.get(uri, headers=headers)
        assert answer.body.startswith(start)
        assert get == same_as(answer)
        body = base64.b64decode(call.pop("body"))
        assert body.startswith(start)
        assert call.pop("headers")["content-type"] == accept
        assert call == {**same_as(answer), "status": 200}
    # Without the header, Orthanc answers PNG.
    (get,) = probe_calls(server, [{"fn": "get", "uri": uri}])
    assert get == same_as(server.get(uri, headers={"Accept": "image/png"}))


def test_call_rest_api_statuses(orthanc: Dataset) -> None:
    """404 for an unknown route, 405 with "allow" for DELETE /system."""
    server = orthanc.server
    unknown, not_allowed, delete_missing = probe_calls(
        server,
        [
            {"fn": "call", "method": "GET", "uri": "/no/such/route"},
            {"fn": "call", "method": "DELETE", "uri": "/system"},
            {"fn": "call", "method": "DELETE", "uri": "/instances/none"},
        ],
    )
    assert server.get("/no/such/route").status == 404
    assert unknown["ok"] is True
    assert unknown["status"] == 404
    assert unknown["len"] == 0

    answer = server.delete("/system")
    assert answer.status == 405
    assert not_allowed["status"] == 405
    assert not_allowed["len"] == 0
    assert not_allowed["headers"]["allow"] == answer.headers["allow"]
    assert all(name == name.lower() for name in not_allowed["headers"])

    # DELETE of a missing instance: the route itself answers 404 (no
    # OrthancStatus over HTTP).  On 1.10.1 CallRestApi reports that as a
    # status, like an unknown route, not as error 17 as FACTS.md says of
    # known routes answering non-200 (true of those that throw).
    answer = server.delete("/instances/none")
    assert answer.status == 404 and error_status(answer) is None
    if orthanc_version()[:2] == (1, 10):
        assert delete_missing["status"] == 404
    else:
        assert delete_missing.get("status") == 404 or (
            delete_missing.get("code") in expected_codes(answer)
        )


def test_errors_carry_the_core_code(orthanc: Dataset) -> None:
    """A known route answering non-200 raises OrthancError, core's code."""
    server = orthanc.server
    cases = [
        ("get", "GET", "/instances/none", None),
        ("post", "POST", "/tools/find", {}),
        ("post", "POST", "/tools/find", "{not json"),
        ("post", "POST", "/instances", "not DICOM"),
        ("put", "PUT", "/patients/none/protected", "1"),
        ("get", "GET", "/instances/none/tags", None),
    ]
    calls = []
    for function, method, uri, body in cases:
        calls.append({"fn": function, "uri": uri, "body": body})
        calls.append(
            {"fn": "call", "method": method, "uri": uri, "body": body}
        )
    answers = probe_calls(server, calls)
    for index, (_function, method, uri, body) in enumerate(cases):
        answer = server.request(method, uri, body)
        assert answer.status >= 400
        codes = expected_codes(answer)
        for got in answers[2 * index : 2 * index + 2]:
            assert got["ok"] is False, (uri, got)
            assert got["code"] in codes, (uri, got, codes, answer.text)

    # A URI without its leading "/" never reaches a route.
    (got,) = probe_calls(server, [{"fn": "get", "uri": "system"}])
    assert (got["error"], got["code"]) == (
        "BadRequestError",
        ErrorCode.URI_SYNTAX,
    )


def test_exception_inside_the_core_is_an_error_code(orthanc: Dataset) -> None:
    """Orthanc 1.10 lets boost::bad_lexical_cast out of InvokeService for
    a "since" that is not a number: it must not unwind through Python."""
    uri = "/patients?limit=1&since=not-a-number"
    calls = [
        {"fn": "get", "uri": uri},
        {"fn": "call", "method": "GET", "uri": uri},
    ] * 3

    answers = probe_calls(orthanc.server, calls)

    for got in answers:
        # 1.12 may parse or refuse the argument itself: a code either way.
        assert got["ok"] is False or got.get("status") == 200, got
        if got["ok"] is False:
            assert got["code"] != ErrorCode.SUCCESS
    assert orthanc.server.get("/probe/answer/str").status == 200
    if orthanc_version()[:2] == (1, 10):
        # What the exception said is in the log.
        assert log_records(
            orthanc.server.log(), "the core threw a C++ exception"
        )


def test_query_strings_through_the_sdk(orthanc: Dataset) -> None:
    """GET parses a query string; POST and PUT keep it in the path.

    (Over HTTP, POST, PUT and DELETE drop it: see test_orthanc_routes.)
    """
    uri = "/probe/echo/a/b?x=%41"
    calls = [
        {"fn": "get", "uri": uri},
        {"fn": "post", "uri": uri, "body": ""},
        {"fn": "put", "uri": uri, "body": ""},
        {"fn": "call", "method": "GET", "uri": uri},
        {"fn": "call", "method": "POST", "uri": uri, "body": ""},
    ]
    for call in calls:
        call.update(after_plugins=True, want_body=True)
    echoes = [
        json.loads(base64.b64decode(answer["body"]))
        for answer in probe_calls(orthanc.server, calls)
    ]
    for echo in (echoes[0], echoes[3]):
        assert echo["url"] == "/probe/echo/a/b"
        assert echo["get"] == {"x": "%41"}
    for echo in (echoes[1], echoes[2], echoes[4]):
        assert echo["url"] == uri
        assert echo["groups"] == ["a", "b?x=%41"]
        assert echo["get"] == {}
