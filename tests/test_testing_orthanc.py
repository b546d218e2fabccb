# SPDX-License-Identifier: GPL-3.0-or-later
"""The fake core against a real Orthanc, where they must agree."""

import importlib.util
from typing import Any

import pytest
from conftest import plugin_script

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


@pytest.mark.orthanc
def test_route_error_statuses_match_orthanc(start_orthanc: Any) -> None:
    script = plugin_script("route_codes_probe.py")
    server: OrthancServer = start_orthanc(script)
    real = {
        code: server.get(f"/route-codes/{int(code)}").status for code in CODES
    }

    with FakeOrthanc() as fake:
        spec = importlib.util.spec_from_file_location("route_codes", script)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.initialize(fake.context)
        faked = {
            code: fake.call_route("GET", f"/route-codes/{int(code)}").status
            for code in CODES
        }

    assert faked == real
    assert real[ErrorCode.UNKNOWN_RESOURCE] == 404
