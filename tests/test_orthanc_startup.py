# SPDX-License-Identifier: GPL-3.0-or-later
"""A plugin that cannot start keeps Orthanc from starting, with a reason."""

import time

import pytest
from conftest import log_records, require_orthanc, sdk_server

pytestmark = pytest.mark.orthanc

# Orthanc refuses to start well within this (it takes ~0.2 s here).
QUICKLY = 10.0

SYNTAX_ERROR = "def initialize(context)\n    pass\n"
RAISES = (
    "def initialize(context):\n    raise RuntimeError('PROBE-INIT-FAILED')\n"
)


def refused(script: str | None, tmp_path) -> str:
    """Run Orthanc; check it exits non-zero quickly; return its log."""
    require_orthanc()
    server = sdk_server(script)
    started = time.monotonic()
    status = server.wait_exit(QUICKLY)
    assert time.monotonic() - started < QUICKLY
    log = server.log()
    assert status != 0, log
    assert "Orthanc has started" not in log
    (record,) = log_records(log, "the Python plugin failed to start")
    assert record.startswith("E")
    return record


def test_syntax_error(tmp_path) -> None:
    script = tmp_path / "syntax_error_probe.py"
    script.write_text(SYNTAX_ERROR, encoding="utf-8")
    record = refused(str(script), tmp_path)
    assert "Traceback (most recent call last)" in record
    assert "SyntaxError" in record
    assert str(script) in record


def test_initialize_raises(tmp_path) -> None:
    script = tmp_path / "raising_probe.py"
    script.write_text(RAISES, encoding="utf-8")
    record = refused(str(script), tmp_path)
    assert "Traceback (most recent call last)" in record
    assert "RuntimeError: PROBE-INIT-FAILED" in record


def test_missing_script(tmp_path) -> None:
    script = tmp_path / "no_such_probe.py"
    record = refused(str(script), tmp_path)
    assert f'the plugin script "{script}" does not exist' in record


def test_missing_section(tmp_path) -> None:
    record = refused(None, tmp_path)
    assert 'no "OrthancSdk" section' in record
