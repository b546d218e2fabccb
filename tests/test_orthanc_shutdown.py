# SPDX-License-Identifier: GPL-3.0-or-later
"""Orthanc stops cleanly on SIGTERM and SIGINT, whatever the plugin left.

``shutdown_probe.py`` leaves a non-daemon thread calling the SDK in a loop
and Buffers alive in module globals (one viewed by a numpy array).
"""

import os
import signal
import time

import pytest
from conftest import (
    STOP_SECONDS,
    assert_clean_exit,
    json_request,
    require_orthanc,
    sdk_server,
    wait_until,
)

pytestmark = pytest.mark.orthanc


@pytest.mark.parametrize(
    ("signum", "mode"),
    [(signal.SIGTERM, "exit"), (signal.SIGINT, "stubborn")],
    ids=["SIGTERM-thread-exits", "SIGINT-thread-keeps-calling"],
)
def test_stop_with_thread_and_buffers(tmp_path, signum, mode) -> None:
    require_orthanc()
    output = tmp_path / "thread-output.txt"
    server = sdk_server(
        "shutdown_probe.py",
        section={"TestOutput": str(output), "ThreadMode": mode},
    )
    server.start()
    try:
        state = wait_until(
            lambda: (
                (s := json_request(server, "GET", "/probe/shutdown-state"))
                and s["calls"] > 10
                and s
            ),
            10,
            "the thread's SDK calls",
        )
        assert len(state["kept"]) == 1 and state["kept"][0] > 0

        started = time.monotonic()
        os.kill(server.pid, signum)
        status = server.wait_exit(STOP_SECONDS)
        elapsed = time.monotonic() - started
    finally:
        server.stop()

    assert_clean_exit(server, status)
    assert elapsed < STOP_SECONDS
    # What the thread got once the context was gone.
    report = output.read_text(encoding="utf-8").splitlines()
    assert len(report) == 1, report
    assert report[0].startswith("ContextClosedError after ")
    assert "Orthanc is stopping" in report[0]
    log = server.log()
    if mode == "stubborn":
        # Finalizing Python would wait for the thread forever: the shim
        # leaves the interpreter to the process's exit, and says so.
        assert "threads still running at shutdown" in log
        assert "probe-sdk-loop" in log
