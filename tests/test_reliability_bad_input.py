# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad input, against a real Orthanc: it answers everything and stays up.

From HTTP clients to Python routes: bytes that are not UTF-8 in the path
and the headers, malformed percent-escapes, empty and binary bodies, JSON
nested thousands deep, bodies of hundreds of MiB, lying lengths.  From
plugin code: every ``Context`` method with None, wrong types, NUL, lone
surrogates, empty, non-ASCII and huge strings, reserved and out-of-range
properties, bodies of 4 GiB (a map of a sparse file): bad Python input
raises ``TypeError`` or ``ValueError`` (the fake-core tests show that no C
call is made then); what reaches the core gets the core's answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time

import pytest
from conftest import json_request, raw_http
from reliability_report import record
from reliability_server import Reliability

pytest_plugins = ("reliability_report", "reliability_server")
pytestmark = pytest.mark.orthanc


def _status(reply: bytes) -> int:
    """The status of a raw HTTP answer (0 when the server just closed)."""
    if not reply:
        return 0
    return int(reply.split(b" ", 2)[1])


def _body(reply: bytes) -> bytes:
    return reply.split(b"\r\n\r\n", 1)[1]


def _raw(state: Reliability, head: bytes, body: bytes = b"") -> bytes:
    return raw_http(
        state.server.http_port,
        head + b"\r\nHost: x\r\nConnection: close\r\n\r\n" + body,
    )


# ---- from HTTP clients ------------------------------------------------------


def test_malformed_get_arguments_arrive_undecoded(
    reliability: Reliability,
) -> None:
    reply = _raw(
        reliability,
        b"GET /rel/echo/q?a=%zz&b=%&c=%e9&d=%00&e=%%41&=x&&f&g=%C3%A9%"
        b" HTTP/1.1",
    )

    assert _status(reply) == 200, reply[:300]
    get = json.loads(_body(reply))["get"]
    assert get["a"] == "%zz"
    assert get["b"] == "%"
    assert get["c"] == "%e9"
    assert get["d"] == "%00"
    assert get["e"] == "%%41"
    assert get["g"] == "%C3%A9%"
    assert get["f"] == ""
    reliability.alive()


@pytest.mark.parametrize(
    "path",
    [
        b"/rel/echo/a\xffb",
        b"/rel/echo/a\x00b",
        b"/rel/echo/%ZZ",
        b"/rel/echo/%",
        b"/rel/echo/%00",
        b"/rel/echo/\xc3\x28",
    ],
    ids=[
        "raw-ff",
        "raw-nul",
        "bad-escape",
        "lone-percent",
        "escaped-nul",
        "bad-utf8",
    ],
)
def test_odd_bytes_in_the_path(reliability: Reliability, path: bytes) -> None:
    """Orthanc refuses some of these itself; it answers each one."""
    reply = _raw(reliability, b"GET " + path + b" HTTP/1.1")

    status = _status(reply)
    record(f"odd path {path!r}", status=status)
    assert status in (200, 400, 404), reply[:300]
    if status == 200:
        echo = json.loads(_body(reply))
        assert echo["url"].startswith("/rel/echo/")
        assert "\0" not in echo["url"]
    reliability.alive()


def test_non_utf8_header_values(reliability: Reliability) -> None:
    reply = _raw(
        reliability,
        b"GET /rel/echo/h HTTP/1.1\r\nX-Value: \xff\xfe\x80\r\nX-Empty:",
    )

    assert _status(reply) == 200, reply[:300]
    headers = json.loads(_body(reply))["headers"]
    # Bytes that are not UTF-8 arrive as lone surrogates.
    assert headers["x-value"] == "\udcff\udcfe\udc80"
    assert headers["x-empty"] == ""
    reliability.alive()


def test_non_ascii_header_name(reliability: Reliability) -> None:
    reply = _raw(reliability, b"GET /rel/echo/h HTTP/1.1\r\nX-\xe9: v")

    status = _status(reply)
    record("non-ASCII header name", status=status)
    # Orthanc 1.10.1's HTTP server refuses it before any route.
    assert status in (200, 400), reply[:300]
    if status == 200:
        headers = json.loads(_body(reply))["headers"]
        assert headers["x-\udce9"] == "v"
    reliability.alive()


@pytest.mark.parametrize("method", [b"POST", b"PUT", b"DELETE"])
@pytest.mark.parametrize(
    "body",
    [b"", b"\0", b"\0" * 65536, bytes(range(256)) * 64],
    ids=["empty", "one-nul", "64k-nul", "binary"],
)
def test_empty_and_binary_bodies(
    reliability: Reliability, method: bytes, body: bytes
) -> None:
    reply = _raw(
        reliability,
        method + b" /rel/echo/b HTTP/1.1\r\nContent-Type: x/y\r\n"
        b"Content-Length: " + str(len(body)).encode(),
        body,
    )

    assert _status(reply) == 200, reply[:300]
    echo = json.loads(_body(reply))
    if method == b"DELETE":
        # Orthanc hands a DELETE route no body, whatever was sent.
        assert echo["body_len"] == 0
    else:
        assert echo["body_len"] == len(body)
        assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()
        assert echo["nul_bytes"] == body.count(b"\0")


@pytest.mark.parametrize("depth", [500, 5_000, 200_000])
def test_deeply_nested_json(reliability: Reliability, depth: int) -> None:
    """Python's parser stops at its recursion limit; Orthanc stays up."""
    body = b"[" * depth + b"]" * depth

    answer = reliability.server.post("/rel/parse-json", body)

    if depth <= 500:
        assert answer.status == 200
        assert answer.json() == {"depth": depth}
    else:
        assert answer.status == 400
        assert answer.json() == {"error": "RecursionError"}
    reliability.alive()


@pytest.mark.slow
def test_body_of_hundreds_of_mib(reliability: Reliability) -> None:
    size = 300 * 2**20
    body = os.urandom(2**20) * 300
    started = time.monotonic()

    answer = reliability.server.post("/rel/sink", body, timeout=120)

    seconds = time.monotonic() - started
    record("POST 300 MiB to a Python route", seconds=f"{seconds:.2f}")
    assert answer.status == 200, answer.text
    assert answer.json() == {
        "len": size,
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    reliability.alive()


def test_lying_content_length(reliability: Reliability) -> None:
    """A client announces more than it sends, then stops writing."""
    port = reliability.server.http_port
    with socket.create_connection(("127.0.0.1", port), 30) as sock:
        sock.sendall(
            b"POST /rel/sink HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Length: 1000000\r\n\r\n" + b"x" * 10
        )
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk

    status = _status(reply)
    record("Content-Length 1000000, 10 bytes sent", status=status)
    # Orthanc drops the connection or answers an error: the route never
    # takes the 10 bytes for the whole body.
    assert status == 0 or status >= 400, reply[:300]
    reliability.alive()


# ---- from plugin code -------------------------------------------------------

BAD_TYPES = ("none", "int", "float", "list", "bytearray")
BAD_STRINGS = ("nul-str", "nul-bytes", "lone-surrogate")
HUGE_MIB = 16


@pytest.fixture(scope="module")
def plugin_outcomes(reliability: Reliability) -> dict:
    started = time.monotonic()
    outcomes = json_request(
        reliability.server,
        "POST",
        "/rel/bad-plugin-input",
        {"huge_mib": HUGE_MIB},
    )
    record(
        "bad plugin input",
        cases=len(outcomes),
        seconds=f"{time.monotonic() - started:.2f}",
    )
    reliability.alive()
    return outcomes


def _methods(outcomes: dict) -> set[str]:
    return {key.split("/")[0] for key in outcomes if key.endswith("/none")}


def test_plugin_bad_types_and_strings_raise(plugin_outcomes: dict) -> None:
    methods = _methods(plugin_outcomes)
    assert len(methods) == 16
    for method in methods:
        for value in BAD_TYPES:
            outcome = plugin_outcomes[f"{method}/{value}"]
            assert outcome.get("family") == "TypeError", (method, outcome)
        for value in BAD_STRINGS:
            outcome = plugin_outcomes[f"{method}/{value}"]
            assert outcome.get("family") == "ValueError", (method, outcome)


URI_METHODS = (
    "rest_api_get",
    "rest_api_get_after",
    "rest_api_get2",
    "rest_api_post",
    "rest_api_put",
    "rest_api_delete",
)
LOOKUPS = (
    "lookup_patient",
    "lookup_study",
    "lookup_study_with_accession_number",
    "lookup_series",
    "lookup_instance",
)


def test_plugin_odd_strings_get_the_core_answer(plugin_outcomes: dict) -> None:
    """Empty, non-ASCII and 16 MiB strings reach the core, which answers."""
    for method in URI_METHODS:
        # A URI must start with "/": the core says URI_SYNTAX (12).
        assert plugin_outcomes[f"{method}/empty"]["code"] == 12
        for value in ("non-ascii", "huge"):
            outcome = plugin_outcomes[f"{method}/{value}"]
            assert outcome["raised"] == "UnknownResourceError", outcome
    for value in ("non-ascii", "huge"):
        assert plugin_outcomes[f"call_rest_api/{value}"]["status"] == 404
        # The header went along, the call answered.
        outcome = plugin_outcomes[f"call_rest_api_header/{value}"]
        assert outcome["status"] == 200 and outcome["buffer"] > 0
    for value in ("empty", "non-ascii", "huge"):
        outcome = plugin_outcomes[f"get_dicom_for_instance/{value}"]
        assert outcome["raised"] == "UnknownResourceError"
        for method in LOOKUPS:
            assert plugin_outcomes[f"{method}/{value}"] == {"value": None}
        assert plugin_outcomes[f"set_global_property/{value}"] == {
            "value": None
        }
    # Defaults come back whole: never truncated.
    assert plugin_outcomes["get_global_property_default/empty"] == {
        "value": ""
    }
    assert plugin_outcomes["get_global_property_default/non-ascii"] == {
        "value": "/\u00e9\u4e2d\U0001f600"
    }
    huge = plugin_outcomes["huge-sha256"]["value"]
    assert plugin_outcomes["get_global_property_default/huge"] == {
        "str_len": HUGE_MIB * 2**20 + 1,
        "sha256": huge,
    }
    # A 16 MiB value goes through the database and back intact.
    assert plugin_outcomes["set_global_property/huge-round-trip"] == {
        "value": huge
    }


def test_plugin_properties_out_of_range(plugin_outcomes: dict) -> None:
    for number in (1023, 1, 0, -1, -(2**31)):
        outcome = plugin_outcomes[f"set_global_property/{number}"]
        assert outcome["raised"] == "ValueError"
        assert "reserved" in outcome["message"]
        # Reading one is allowed (property 1 is the schema version).
        assert "value" in plugin_outcomes[f"get_global_property/{number}"]
    assert plugin_outcomes["get_global_property/1"]["value"].isdigit()
    for number in (2**31, -(2**31) - 1, 2**40):
        for method in ("set", "get"):
            outcome = plugin_outcomes[f"{method}_global_property/{number}"]
            assert outcome["raised"] == "ValueError"
            assert "int32" in outcome["message"]
    for kind in ("bool", "str", "float", "NoneType"):
        outcome = plugin_outcomes[f"set_global_property/{kind}"]
        assert outcome["raised"] == "TypeError"


def test_plugin_bodies_of_4_gib_and_bad_bodies(plugin_outcomes: dict) -> None:
    for method in ("rest_api_post", "rest_api_put", "call_rest_api"):
        for name in ("4gib+1", "4gib"):
            outcome = plugin_outcomes[f"{method}/body-{name}"]
            assert outcome["raised"] == "ValueError"
            assert "4 GiB" in outcome["message"]
        for name in ("int", "object", "strided"):
            outcome = plugin_outcomes[f"{method}/body-{name}"]
            assert outcome["raised"] == "TypeError"
    for method in ("rest_api_post", "rest_api_put"):
        assert plugin_outcomes[f"{method}/body-none"]["raised"] == "TypeError"
    # call_rest_api sends no body for None: the core refuses the request.
    assert plugin_outcomes["call_rest_api/body-none"]["family"] == (
        "OrthancError"
    )


def test_plugin_bad_methods_and_headers(plugin_outcomes: dict) -> None:
    families = {
        "'PATCH'": "ValueError",
        "''": "ValueError",
        "0": "ValueError",
        "99": "ValueError",
        "None": "TypeError",
        "True": "TypeError",
    }
    for method, family in families.items():
        outcome = plugin_outcomes[f"call_rest_api/method-{method}"]
        assert outcome["family"] == family, (method, outcome)
    headers = [key for key in plugin_outcomes if "/headers-" in key]
    assert len(headers) == 6
    for key in headers:
        assert plugin_outcomes[key]["raised"] == "TypeError", key
