# SPDX-License-Identifier: GPL-3.0-or-later
"""SIGTERM under load: a clean exit, and nothing lost at the restart.

Sixteen clients are in the middle of requests to a Python route that calls
the SDK, and a plugin thread calls the SDK in a loop, when Orthanc gets
SIGTERM: it must exit within 10 s with status 0 and no crash, the plugin
thread must end on ``ContextClosedError``, and every client must get an
answer or a closed connection, never a hang.  Restarted on the same
storage, Orthanc has every instance uploaded before the stop, byte for
byte, and the global properties the plugin set.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import (
    STOP_SECONDS,
    assert_clean_exit,
    json_request,
    log_records,
    make_dicom,
    require_orthanc,
    sdk_server,
    wait_until,
)
from reliability_report import record
from reliability_server import upload

pytest_plugins = ("reliability_report",)
pytestmark = [pytest.mark.orthanc, pytest.mark.slow]

CLIENTS = 16
INSTANCES = 24
PROPERTIES = {5300 + n: f"kept {n} \u00e9\u4e2d" for n in range(8)}


def _server(storage: str, output: str):
    return sdk_server(
        "reliability_probe.py",
        section={"TestOutput": output},
        storage=storage,
    )


def test_sigterm_under_load_then_restart(tmp_path) -> None:
    require_orthanc()
    storage, output = str(tmp_path / "storage"), str(tmp_path / "output")
    os.makedirs(output)
    server = _server(storage, output)
    server.start()
    try:
        uploaded = {}
        for number in range(INSTANCES):
            data = make_dicom(
                f"KEEP-{number}",
                EncapsulatedDocument=os.urandom(1 + number * 997),
            )
            uploaded[upload(server, data)] = hashlib.sha256(data).hexdigest()
        for number, value in PROPERTIES.items():
            answer = server.put(f"/rel/property/{number}", value)
            assert answer.json() == {"value": value}

        json_request(server, "POST", "/rel/caller/start")
        wait_until(
            lambda: (
                json_request(server, "POST", "/rel/caller/start")["calls"] > 20
            ),
            10,
            "the plugin thread's SDK calls",
        )

        def client(number: int) -> str:
            try:
                answer = server.get("/rel/slow?seconds=3", timeout=30)
            except OSError as error:
                return f"closed: {type(error).__name__}"
            return f"status {answer.status}"

        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(client, n) for n in range(CLIENTS)]
            # Every client is inside the route by now.
            time.sleep(1.0)
            started = time.monotonic()
            os.kill(server.pid, signal.SIGTERM)
            status = server.wait_exit(STOP_SECONDS)
            stop_seconds = time.monotonic() - started
            outcomes = [future.result(timeout=30) for future in futures]
    finally:
        server.stop()

    assert_clean_exit(server, status)
    assert stop_seconds < STOP_SECONDS
    # The plugin thread learnt that Orthanc was stopping, and ended.
    with open(os.path.join(output, "caller.txt"), encoding="utf-8") as file:
        ending = file.read()
    assert ending.startswith("ContextClosedError after "), ending
    # Each client got an answer (its route finished, or failed on the
    # closed context) or a closed connection: none hung.
    assert len(outcomes) == CLIENTS
    # A route that was still calling the SDK failed on the closed context,
    # nothing else.
    failed = log_records(server.log(), "route /rel/slow failed")
    assert all("ContextClosedError" in record for record in failed), failed
    assert all(
        outcome in ("status 200", "status 500") or outcome.startswith("closed")
        for outcome in outcomes
    ), outcomes

    restarted = _server(storage, output)
    restarted.start()
    try:
        identical = 0
        for instance, digest in uploaded.items():
            answer = restarted.get(f"/instances/{instance}/file")
            assert answer.status == 200, instance
            assert hashlib.sha256(answer.body).hexdigest() == digest
            identical += 1
        for number, value in PROPERTIES.items():
            answer = json_request(restarted, "GET", f"/rel/property/{number}")
            assert answer == {"value": value}
        assert restarted.get("/system").status == 200
    finally:
        restart_status = restarted.stop()
    assert_clean_exit(restarted, restart_status)

    record(
        "lifecycle SIGTERM",
        clients=CLIENTS,
        client_outcomes="|".join(
            f"{o}x{outcomes.count(o)}" for o in sorted(set(outcomes))
        ),
        handlers_failed_on_closed_context=len(failed),
        stop_seconds=f"{stop_seconds:.2f}",
        exit_status=status,
        thread=ending.split(":")[0].strip(),
        instances_identical=f"{identical}/{len(uploaded)}",
        properties_kept=len(PROPERTIES),
    )
