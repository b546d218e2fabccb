# SPDX-License-Identifier: GPL-3.0-or-later
"""Memory safety inside Orthanc: a short scenario under Valgrind's memcheck.

Orthanc runs under ``valgrind`` with the shim and ``reliability_probe.py``
(Python allocating with ``malloc``, so that memcheck sees every block),
and the scenario calls every ``Context`` method, with good and bad input,
every kind of route answer and fault, plugin threads, on-change events and
a SIGTERM stop.  Memcheck must report no invalid read or write and no
invalid or mismatched free (leaks are not counted: Python does not free
everything at exit).  ``scripts/memcheck.sh`` runs this test and the
fake-core tests under AddressSanitizer.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import stat
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import (
    STOP_SECONDS,
    find_orthanc,
    json_request,
    make_dicom,
    plugin_script,
    require_orthanc,
    sdk_server,
)
from reliability_report import record
from reliability_server import upload

pytest_plugins = ("reliability_report",)
pytestmark = [pytest.mark.orthanc, pytest.mark.slow]

HERE = os.path.dirname(os.path.abspath(__file__))
FAULTS = (
    "raise",
    "raise-keyboard",
    "raise-exit",
    "unsupported",
    "unsupported-set",
    "bad-status",
    "status-str",
    "header-newline",
    "content-type-nul",
    "too-large",
)
ANSWERS = (
    "bytes",
    "bytearray",
    "memoryview",
    "str",
    "json",
    "none",
    "buffer",
    "created",
    "missing",
    "empty-404",
    "unauthorized",
    "not-allowed",
    "moved",
    "redirect",
)
# What memcheck calls the errors this test is about.
MEMORY_ERRORS = re.compile(
    r"Invalid (read|write|free)|Mismatched free|"
    r"Source and destination overlap|Jump to the invalid address"
)


def _wrapper(folder: str, valgrind: str) -> str:
    """A script that runs Orthanc under memcheck, for OrthancServer."""
    path = os.path.join(folder, "orthanc-under-valgrind")
    log = os.path.join(folder, "valgrind.%p.log")
    suppressions = os.path.join(HERE, "valgrind.supp")
    with open(path, "w", encoding="utf-8") as script:
        script.write(
            "#!/bin/sh\n"
            f"exec {valgrind} --tool=memcheck --leak-check=no"
            f" --undef-value-errors=no --suppressions={suppressions}"
            f' --log-file={log} {find_orthanc()} "$@"\n'
        )
    os.chmod(path, stat.S_IRWXU)
    return path


def _scenario(server, small: list[str], big: str) -> int:
    """Everything once, or a few times; the number of requests."""
    requests = 0

    def loop(name: str, count: int, **args) -> None:
        nonlocal requests
        report = json_request(
            server,
            "POST",
            "/rel/loop",
            {"loop": name, "count": count, "args": args},
        )
        assert report["error_count"] == 0, report
        requests += 1

    size = len(server.get(f"/instances/{big}/file").body)
    loop("system", 50)
    loop("dicom", 5, instance=big, size=size, keep=0)
    loop("dicom", 10, instance=big, size=size, keep=2)
    loop("properties", 10)
    loop("call_headers", 10, instance=big)
    loop("failing", 5)

    def nested(number: int) -> int:
        answer = server.get(f"/rel/nested/{small[number % len(small)]}")
        return answer.status

    with ThreadPoolExecutor(4) as pool:
        statuses = pool.map(nested, range(16))
        report = json_request(
            server,
            "POST",
            "/rel/threads",
            {"instances": small, "count": 5, "timeout": 120},
        )
        assert list(statuses) == [200] * 16
    assert report["error_count"] == 0 and report["mismatches"] == 0, report
    requests += 17

    for kind in FAULTS:
        assert server.get(f"/rel/fault/{kind}").status == 500, kind
    for kind in ANSWERS:
        assert server.get(f"/rel/answer/{kind}").status < 500, kind
    outcomes = json_request(
        server, "POST", "/rel/bad-plugin-input", {"huge_mib": 1}
    )
    assert outcomes["token"] == {"value": "Bearer "}
    requests += len(FAULTS) + len(ANSWERS) + 1

    deep = b"[" * 5000 + b"]" * 5000
    assert server.post("/rel/parse-json", deep).status == 400
    body = bytes(range(256)) * 4096
    assert server.post("/rel/sink", body).json()["len"] == len(body)
    echo = json_request(server, "GET", "/rel/echo/x?a=%zz&b=%")
    assert echo["get"] == {"a": "%zz", "b": "%"}
    return requests + 3


def test_scenario_under_memcheck(tmp_path) -> None:
    require_orthanc()
    valgrind = shutil.which("valgrind")
    # scripts/setup.sh installs it: its absence is a broken set-up.
    assert valgrind is not None, (
        "valgrind is missing: apt-get install valgrind"
    )
    folder = str(tmp_path)
    server = sdk_server(
        plugin_script("reliability_probe.py"),
        section={"TestOutput": folder},
        orthanc=_wrapper(folder, valgrind),
        env={"PYTHONMALLOC": "malloc"},
    )
    started = time.monotonic()
    server.start(timeout=240)
    try:
        start_seconds = time.monotonic() - started
        small = [upload(server, make_dicom(f"VG-{n}")) for n in range(4)]
        big = upload(
            server,
            make_dicom("VG-BIG", EncapsulatedDocument=os.urandom(2**18)),
        )
        requests = _scenario(server, small, big)
        json_request(server, "POST", "/rel/caller/start")
        os.kill(server.pid, signal.SIGTERM)
        status = server.wait_exit(STOP_SECONDS * 6)
    finally:
        server.stop(timeout=120)
    seconds = time.monotonic() - started

    logs = glob.glob(os.path.join(folder, "valgrind.*.log"))
    assert len(logs) == 1, logs
    with open(logs[0], encoding="utf-8", errors="replace") as file:
        report = file.read()
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", report)
    assert summary, report[-3000:]
    errors = MEMORY_ERRORS.findall(report)
    record(
        "valgrind memcheck",
        requests=requests,
        start_seconds=f"{start_seconds:.1f}",
        seconds=f"{seconds:.1f}",
        exit_status=status,
        memory_errors=len(errors),
        error_summary=summary.group(1),
    )
    assert errors == [], report[-6000:]
    assert summary.group(1) == "0", report[-6000:]
    assert status == 0, server.log()[-3000:]
