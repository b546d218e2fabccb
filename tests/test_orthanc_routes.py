# SPDX-License-Identifier: GPL-3.0-or-later
"""REST routes written in Python, as an HTTP client sees them."""

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import Dataset, json_request, log_records, raw_http, wait_until

pytestmark = pytest.mark.orthanc


def test_request_fields(orthanc: Dataset) -> None:
    """Groups, raw GET arguments, lower-case headers, body with NULs."""
    server = orthanc.server

    echo = json_request(
        server, "GET", "/probe/echo/first/sec%20ond/x?x=%41&y=a%20b&flag"
    )
    assert echo["method"] == "GET"
    # The path is percent-decoded; GET arguments are not (Orthanc stopped
    # decoding them in 1.10.0).
    assert echo["url"] == "/probe/echo/first/sec ond/x"
    assert echo["groups"] == ["first", "sec ond/x"]
    assert echo["get"] == {"x": "%41", "y": "a%20b", "flag": ""}

    body = b"\x00\x01body\x00with NULs\x00"
    answer = server.request(
        "POST",
        "/probe/echo/a/b",
        body,
        headers={"X-Probe-Header": "Mixed Value", "Content-Type": "x/y"},
    )
    echo = answer.json()
    assert echo["method"] == "POST"
    assert echo["body_len"] == len(body)
    assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert echo["headers"]["x-probe-header"] == "Mixed Value"
    assert echo["headers"]["content-type"] == "x/y"
    assert all(name == name.lower() for name in echo["headers"])
    assert echo["get"] == {}

    # Over HTTP, POST, PUT and DELETE drop the query string.
    for method in ("POST", "PUT", "DELETE"):
        echo = server.request(method, "/probe/echo/m/n?q=1", b"").json()
        assert echo["method"] == method
        assert echo["url"] == "/probe/echo/m/n"
        assert echo["groups"] == ["m", "n"]
        assert echo["get"] == {}


ANSWERS = {
    # kind: (status, content type, body)
    "bytes": (200, "application/octet-stream", b"\x00raw\xff\x00"),
    "str": (200, "text/plain; charset=utf-8", "h\u00e9llo \u2603".encode()),
    "dict": (200, "application/json", b'{"a": 1, "b": [true, null]}'),
    "list": (200, "application/json", b'[1, "two", {"three": 3}]'),
    "none": (200, "text/plain", b""),
    "bytearray": (200, "application/octet-stream", b"\x01\x02"),
    "custom": (200, "application/xml", b"<probe/>"),
    "created": (201, "application/json", b'{"made": true}'),
    "missing": (404, "text/plain; charset=utf-8", b"nothing here"),
    "empty-404": (404, None, b""),
    "unauthorized": (401, None, b""),
    "unauthorized-realm": (401, None, b""),
    "not-allowed": (405, None, b""),
}


@pytest.mark.parametrize("kind", sorted(ANSWERS))
def test_answer_types(orthanc: Dataset, kind: str) -> None:
    status, content_type, body = ANSWERS[kind]

    answer = orthanc.server.get(f"/probe/answer/{kind}")

    assert answer.status == status, answer.text
    assert answer.body == body
    if content_type is not None:
        assert answer.headers["content-type"] == content_type
    if kind in ("created", "custom"):
        assert answer.headers["x-probe"] == kind
    if kind == "unauthorized":
        assert 'realm="Orthanc"' in answer.headers["www-authenticate"]
    if kind == "unauthorized-realm":
        assert answer.headers["www-authenticate"] == 'Basic realm="probe"'
    if kind == "not-allowed":
        assert answer.headers["allow"] == "GET"


def test_answer_redirect_and_buffer(orthanc: Dataset) -> None:
    server = orthanc.server
    # 301 goes through OrthancPluginRedirect, the others keep their status.
    for kind, status, location in (
        ("redirect", 307, "/probe/answer/str"),
        ("moved", 301, "/probe/answer/dict"),
    ):
        answer = server.get(f"/probe/answer/{kind}")
        assert answer.status == status, answer.text
        assert answer.headers["location"] == location

    # A Buffer from the binding is answered as is, without a copy.
    answer = server.get("/probe/answer/buffer")
    assert answer.status == 200
    assert answer.json() == server.get("/system").json()


@pytest.mark.parametrize("kind", ["teapot", "teapot-empty"])
def test_status_orthanc_cannot_send_answers_500(
    orthanc: Dataset, kind: str
) -> None:
    """Not a connection closed without an answer."""
    server = orthanc.server

    reply = raw_http(
        server.http_port,
        f"GET /probe/answer/{kind} HTTP/1.1\r\nHost: x\r\n"
        "Connection: close\r\n\r\n".encode(),
    )

    assert reply.startswith(b"HTTP/1.1 500"), reply[:200]
    record = wait_until(
        lambda: log_records(server.log(), "cannot send the HTTP status 418"),
        5,
        "the reason in the log",
    )[0]
    assert "Traceback" in record
    assert server.get("/probe/answer/str").status == 200


@pytest.mark.parametrize(
    "kind", ["no-content-body", "not-modified-body", "continue"]
)
def test_status_that_would_break_the_exchange_answers_500(
    orthanc: Dataset, kind: str
) -> None:
    """A 1xx is not a final answer; 204 and 304 cannot carry a body."""
    reply = raw_http(
        orthanc.server.http_port,
        f"GET /probe/answer/{kind} HTTP/1.1\r\nHost: x\r\n"
        "Connection: close\r\n\r\n".encode(),
    )

    assert reply.startswith(b"HTTP/1.1 500"), reply[:200]
    assert b"not allowed" not in reply


def test_content_type_header_is_sent_once(orthanc: Dataset) -> None:
    answer = orthanc.server.get("/probe/answer/content-type-header")

    assert answer.status == 200
    # Repeated headers arrive joined with ", ".
    assert answer.headers["content-type"] == "application/xml"
    assert answer.body == b"<probe/>"


@pytest.mark.parametrize(
    "kind", ["content-length-header", "transfer-encoding-header"]
)
def test_framing_headers_are_refused(orthanc: Dataset, kind: str) -> None:
    """Orthanc frames the answer: a second length would desynchronise it."""
    answer = orthanc.server.get(f"/probe/answer/{kind}")

    assert answer.status == 500
    assert "transfer-encoding" not in answer.headers
    assert answer.headers["content-length"] == str(len(answer.body))


@pytest.mark.parametrize("kind", ["colon-header-name", "empty-header-name"])
def test_header_name_must_be_a_token(orthanc: Dataset, kind: str) -> None:
    """Else "X-A: b" would forge a header X-A, and "" a broken line."""
    reply = raw_http(
        orthanc.server.http_port,
        f"GET /probe/answer/{kind} HTTP/1.1\r\nHost: x\r\n"
        "Connection: close\r\n\r\n".encode(),
    )

    assert reply.startswith(b"HTTP/1.1 500"), reply[:200]
    assert b"\r\nX-A:" not in reply and b"\r\n: c" not in reply


def test_answer_that_is_not_json_is_refused(orthanc: Dataset) -> None:
    answer = orthanc.server.get("/probe/answer/nan")

    assert answer.status == 500
    assert b"NaN" not in answer.body


def test_no_content(orthanc: Dataset) -> None:
    answer = orthanc.server.get("/probe/answer/no-content")

    assert answer.status == 204
    assert answer.body == b""


def test_handler_errors(orthanc: Dataset) -> None:
    """Uncaught: 500 and a traceback; OrthancError: the code's status."""
    server = orthanc.server
    tag = f"T{time.monotonic_ns()}"

    answer = server.get(f"/probe/raise/exception?tag={tag}")
    assert answer.status == 500
    record = wait_until(
        lambda: log_records(server.log(), f"PROBE-UNCAUGHT {tag}"),
        5,
        "the traceback in the log",
    )[0]
    assert record.startswith("E")
    assert "Traceback (most recent call last)" in record
    assert "route /probe/raise/([a-z-]+) failed" in record

    assert server.get("/probe/raise/unknown").status == 404
    assert server.get("/probe/raise/core-unknown").status == 404
    assert server.get("/probe/raise/bad-request").status == 400
    # Orthanc goes on serving.
    assert server.get("/probe/answer/str").status == 200


def test_non_utf8_bytes_in_the_request(orthanc: Dataset) -> None:
    server = orthanc.server
    port = server.http_port

    # Percent-encoded bytes that are not UTF-8: the path is decoded, so
    # the handler sees the raw bytes, as lone surrogates ("surrogateescape").
    echo = json_request(server, "GET", "/probe/echo/a%FFb/%C3%A9?x=%FF%FE")
    assert echo["url"] == "/probe/echo/a\udcffb/\u00e9"
    assert echo["groups"] == ["a\udcffb", "\u00e9"]
    assert echo["get"] == {"x": "%FF%FE"}
    # Answered as str, they go back as the same bytes.
    answer = server.get("/probe/echo-url/%FF%FEz")
    assert answer.status == 200
    assert answer.body == b"/probe/echo-url/\xff\xfez"

    # A header value that is not UTF-8.
    reply = raw_http(
        port,
        b"GET /probe/echo/h/v HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"X-Bytes: \xff\xfe\r\n\r\n",
    )
    assert reply.startswith(b"HTTP/1.1 200")
    assert b'"x-bytes": "\\udcff\\udcfe"' in reply

    # Sent back in an answer header, they are the same bytes again.
    reply = raw_http(
        port,
        b"GET /probe/answer/surrogate-header HTTP/1.1\r\nHost: x\r\n"
        b"Connection: close\r\n\r\n",
    )
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert b"\r\nX-Bytes: \xff\xfe\r\n" in reply

    # Raw bytes above 127 in the request line: Orthanc 1.10.1's HTTP
    # server (CivetWeb) refuses the request itself, before any route.
    reply = raw_http(
        port,
        b"GET /probe/echo/a\xffb/c?x=\xfe HTTP/1.1\r\nHost: x\r\n"
        b"Connection: close\r\n\r\n",
    )
    status = reply.split(b" ", 2)[1]
    assert status in (b"400", b"200"), reply[:200]
    if status == b"200":
        assert b"\\udcff" in reply
    assert server.get("/system").status == 200


def test_several_routes_are_served(orthanc: Dataset) -> None:
    server = orthanc.server
    for path in ("/probe/config", "/probe/changes", "/probe/leaf/7"):
        assert server.get(path).status == 200, path
    assert server.get("/probe/not-a-route").status == 404


def test_concurrent_clients_nested_calls(orthanc: Dataset) -> None:
    """16 clients on a route that calls the REST API and another route."""
    server = orthanc.server
    numbers = list(range(16 * 6))

    def fetch(number: int) -> dict:
        answer = server.get(f"/probe/fanout/{number}", timeout=60)
        assert answer.status == 200, answer.text
        return answer.json()

    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(fetch, numbers))
    elapsed = time.monotonic() - started

    for number, answer in zip(numbers, answers, strict=True):
        assert answer["number"] == str(number)
        assert answer["name"] == "orthanc_sdk"
        assert answer["leaf"]["leaf"] == str(number)
        assert answer["called"]["leaf"] == str(number)
        assert answer["status"] == 200
        assert answer["leaf"]["instances"] >= len(orthanc.instances)
    assert elapsed < 30


def test_route_registered_with_the_lock(orthanc: Dataset) -> None:
    """lock=True: concurrent clients, nested calls, no deadlock."""
    server = orthanc.server

    def fetch(number: int) -> dict:
        answer = server.get(f"/probe/locked-fanout/{number}", timeout=60)
        assert answer.status == 200, answer.text
        return answer.json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(fetch, range(32)))

    for number, answer in enumerate(answers):
        assert answer["number"] == str(number)
        assert answer["leaf"]["leaf"] == str(number)
        assert answer["called"]["leaf"] == str(number)
