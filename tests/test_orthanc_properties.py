# SPDX-License-Identifier: GPL-3.0-or-later
"""Global properties: set through the binding, kept across a restart."""

import os

import pytest
from conftest import (
    assert_clean_exit,
    json_request,
    require_orthanc,
    sdk_server,
)

pytestmark = pytest.mark.orthanc

VALUE = "kept across restarts: \u00e9\u2603"


def test_property_survives_a_restart(tmp_path) -> None:
    require_orthanc()
    storage = str(tmp_path / "storage")
    section = {"TestOutput": str(tmp_path)}

    first = sdk_server("main_probe.py", section=section, storage=storage)
    with first:
        assert json_request(first, "GET", "/probe/property/1025") == {
            "value": "<unset>"
        }
        for number, value in ((1024, "first plugin one"), (1025, VALUE)):
            answer = json_request(
                first, "PUT", f"/probe/property/{number}", value
            )
            assert answer == {"set": number}
        assert json_request(first, "GET", "/probe/property/1025") == {
            "value": VALUE
        }

        # Property 1 is Orthanc's database schema version: readable...
        schema = json_request(first, "GET", "/probe/property/1")["value"]
        assert schema.isdigit()
        # ... but the binding refuses to set any property below 1024.
        refused = json_request(first, "PUT", "/probe/property/1", "0")
        assert refused["error"] == "ValueError"
        assert "1024" in refused["message"]
        refused = json_request(first, "PUT", "/probe/property/1023", "0")
        assert refused["error"] == "ValueError"
        assert json_request(first, "GET", "/probe/property/1") == {
            "value": schema
        }
    assert_clean_exit(first, first.process.returncode)
    assert os.path.isdir(storage)

    second = sdk_server("main_probe.py", section=section, storage=storage)
    with second:
        assert json_request(second, "GET", "/probe/property/1025") == {
            "value": VALUE
        }
        assert json_request(second, "GET", "/probe/property/1024") == {
            "value": "first plugin one"
        }
        assert json_request(second, "GET", "/probe/property/1") == {
            "value": schema
        }
    assert_clean_exit(second, second.process.returncode)
