# SPDX-License-Identifier: GPL-3.0-or-later
"""The fake core against a real Orthanc, where they must agree."""

from typing import Any

import pytest
from conftest import import_script, plugin_script

from orthanc_sdk import ErrorCode
from orthanc_sdk.server import OrthancServer
from orthanc_sdk.testing import FakeOrthanc

CODES = [
    ErrorCode.UNKNOWN_RESOURCE,
    ErrorCode.INEXISTENT_ITEM,
    ErrorCode.INEXISTENT_FILE,
    ErrorCode.BAD_REQUEST,
    ErrorCode.BAD_FILE_FORMAT,
    ErrorCode.BAD_JSON,
    ErrorCode.PARAMETER_OUT_OF_RANGE,
    ErrorCode.BAD_PARAMETER_TYPE,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.INTERNAL_ERROR,
    ErrorCode.PLUGIN,
    ErrorCode.NOT_IMPLEMENTED,
]


def load_probe(name: str) -> Any:
    """A probe plugin of tests/plugins, imported for the fake core."""
    return import_script(plugin_script(name), name[:-3])


@pytest.mark.orthanc
def test_route_error_statuses_match_orthanc(start_orthanc: Any) -> None:
    server: OrthancServer = start_orthanc(
        plugin_script("route_codes_probe.py")
    )
    real = {
        code: server.get(f"/route-codes/{int(code)}").status for code in CODES
    }

    with FakeOrthanc() as fake:
        load_probe("route_codes_probe.py").initialize(fake.context)
        faked = {
            code: fake.call_route("GET", f"/route-codes/{int(code)}").status
            for code in CODES
        }

    assert faked == real
    assert real[ErrorCode.UNKNOWN_RESOURCE] == 404


STATUSES = [200, 201, 204, 226, 299, 302, 307, 308, 409, 418, 422, 451]
STATUSES += [500, 508, 510, 599]


@pytest.mark.orthanc
def test_route_statuses_match_orthanc(start_orthanc: Any) -> None:
    # 0: Orthanc refuses the status and sends nothing (the connection
    # closes without an answer).
    server: OrthancServer = start_orthanc(plugin_script("status_probe.py"))
    real = {}
    for status in STATUSES:
        try:
            real[status] = server.get(f"/status/{status}", timeout=10).status
        except OSError:
            real[status] = 0

    with FakeOrthanc() as fake:
        load_probe("status_probe.py").initialize(fake.context)
        faked = {
            status: fake.call_route("GET", f"/status/{status}").status
            for status in STATUSES
        }

    assert faked == real
    assert real[409] == 409 and real[418] in (0, 500)


# Orthanc percent-decodes the path (not "+", and not an invalid escape)
# before it matches the routes; the GET arguments stay encoded.
REQUESTS = [
    "/request/plain",
    "/request/x%20y?c=%41&d=%20",
    "/request/a+b",
    "/request/a%2Fb",
    "/request/%C3%A9t%C3%A9",
    "/request/%zz",
]


@pytest.mark.orthanc
def test_route_requests_match_orthanc(start_orthanc: Any) -> None:
    server: OrthancServer = start_orthanc(plugin_script("request_probe.py"))
    real = {uri: server.get(uri).json() for uri in REQUESTS}

    with FakeOrthanc() as fake:
        load_probe("request_probe.py").initialize(fake.context)
        faked = {uri: fake.call_route("GET", uri).json() for uri in REQUESTS}

    assert faked == real
    assert real["/request/x%20y?c=%41&d=%20"] == {
        "url": "/request/x y",
        "groups": ["x y"],
        "get": {"c": "%41", "d": "%20"},
    }
