# SPDX-License-Identifier: GPL-3.0-or-later
"""The embedded interpreter: extension modules, sys, processes, logs."""

import os
import sys
import time

import pytest
from conftest import (
    Dataset,
    json_request,
    log_records,
    plugin_script,
    wait_until,
)

pytestmark = pytest.mark.orthanc


@pytest.fixture(scope="module")
def runtime(orthanc: Dataset) -> dict:
    return json_request(orthanc.server, "GET", "/probe/runtime")


def test_sys_is_the_environment(runtime: dict) -> None:
    """sys.executable is the venv's python, not Orthanc; sys.prefix too."""
    executable = runtime["executable"]
    assert os.path.basename(executable).startswith("python")
    assert os.path.dirname(executable) == os.path.dirname(sys.executable)
    assert os.path.samefile(executable, sys.executable)
    assert runtime["prefix"] == sys.prefix
    assert runtime["base_prefix"] == sys.base_prefix


def test_extension_modules_load(runtime: dict) -> None:
    """C extensions import in the script and inside a callback."""
    for where in ("loaded_at_import", "in_callback"):
        modules = runtime[where]
        assert len(modules) >= 4, where
        for name, path in modules.items():
            assert path.endswith(".so"), (where, name, path)
    cffi_module = runtime["in_callback"]["orthanc_sdk._orthanc_sdk_cffi"]
    assert cffi_module.startswith(sys.prefix)
    assert runtime["numpy_sum"] == 45
    assert runtime["decimal"] == "0.3"
    assert runtime["pointer_size"] == 8


def test_subprocess_and_multiprocessing(runtime: dict) -> None:
    """A route runs sys.executable and a multiprocessing spawn pool."""
    returncode, stdout, stderr = runtime["child"]
    assert (returncode, stdout) == (0, sys.prefix), stderr
    # The pool's function lives in the plugin script itself.
    assert runtime["squares"] == [0, 1, 4, 9, 16, 25]


def test_logging_reaches_orthanc_at_its_level(orthanc: Dataset) -> None:
    server = orthanc.server
    tag = f"T{time.monotonic_ns()}"

    def log(level: int, name: str) -> str:
        marker = f"PROBE-LOG-{name}-{tag}"
        answer = server.post("/probe/log", {"level": level, "message": marker})
        assert answer.status == 200
        return marker

    warning = log(30, "warning")
    error = log(40, "error")
    info = log(20, "info")
    wait_until(lambda: log_records(server.log(), error), 5, "the error record")
    (record,) = log_records(server.log(), warning)
    assert record.startswith("W")
    assert "main_probe: " + warning in record
    (record,) = log_records(server.log(), error)
    assert record.startswith("E")
    # Not in the default log.
    assert log_records(server.log(), info) == []

    # With Orthanc's verbose level (as --verbose would set it), it is.
    assert server.put("/tools/log-level", "verbose").status == 200
    try:
        info = log(20, "info-verbose")
        debug = log(10, "debug-verbose")
    finally:
        assert server.put("/tools/log-level", "default").status == 200
    (record,) = wait_until(
        lambda: log_records(server.log(), info), 5, "the info record"
    )
    assert record.startswith("I")
    # The plugin host sets the root logger to INFO: DEBUG records stop
    # in Python.
    assert log_records(server.log(), debug) == []


def test_print_is_not_lost(orthanc: Dataset) -> None:
    server = orthanc.server
    assert "PROBE-PRINT-AT-INITIALIZE" in server.log()
    marker = f"PROBE-PRINT-{time.monotonic_ns()}"
    assert server.post("/probe/print", marker).status == 200
    # stdout is unbuffered: the line is there at once.
    wait_until(lambda: marker in server.log(), 2, "the printed line")


def test_configuration_is_a_dict(orthanc: Dataset) -> None:
    server = orthanc.server
    answer = json_request(server, "GET", "/probe/config")
    assert answer["type"] == "dict"
    configuration = answer["configuration"]
    assert configuration["OrthancSdk"] == {
        "Script": plugin_script("main_probe.py"),
        "TestOutput": orthanc.output,
        "Probe": [1, "two"],
    }
    assert configuration["HttpPort"] == server.http_port
    assert configuration["StableAge"] == 2
