# SPDX-License-Identifier: GPL-3.0-or-later
"""Concurrency and faults in plugin code, against a real Orthanc.

Eight plugin threads call the SDK with their own arguments while sixteen
HTTP clients hit a Python route that calls the REST API itself: every
answer must be the caller's own.  Then handlers misbehave (raise, answer
what cannot be sent, answer hundreds of MiB, block for seconds): the
client always gets an answer, the traceback is in Orthanc's log, and the
next request works.
"""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import json_request, log_records
from reliability_report import record
from reliability_server import Reliability

pytest_plugins = ("reliability_report", "reliability_server")
pytestmark = pytest.mark.orthanc

THREADS_ROUNDS = 300
CLIENTS = 16
# Each client's requests while the plugin threads run (bounded anyway).
CLIENT_REQUESTS = 150
TIME_LIMIT = 120.0


@pytest.mark.slow
def test_plugin_threads_and_http_clients(reliability: Reliability) -> None:
    server = reliability.server
    instances = reliability.small
    plugin: dict = {}
    stop = threading.Event()

    def run_threads() -> None:
        try:
            plugin["report"] = json_request(
                server,
                "POST",
                "/rel/threads",
                {
                    "instances": instances,
                    "count": THREADS_ROUNDS,
                    "timeout": TIME_LIMIT,
                },
            )
        finally:
            stop.set()

    def client(number: int) -> tuple[int, int, list[str]]:
        instance = instances[number % len(instances)]
        done, errors = 0, []
        deadline = time.monotonic() + TIME_LIMIT
        while done < CLIENT_REQUESTS and time.monotonic() < deadline:
            answer = server.get(f"/rel/nested/{instance}", timeout=60)
            if answer.status != 200:
                errors.append(f"{answer.status} {answer.text[:200]}")
            elif answer.json() != {
                "instance": instance,
                "name": "orthanc_sdk",
            }:
                errors.append(f"mismatch: {answer.text[:200]}")
            done += 1
            if stop.is_set() and done >= CLIENT_REQUESTS // 3:
                break
        return number, done, errors

    started = time.monotonic()
    threads = threading.Thread(target=run_threads)
    threads.start()
    with ThreadPoolExecutor(CLIENTS) as pool:
        clients = list(pool.map(client, range(CLIENTS)))
    threads.join(TIME_LIMIT + 30)
    seconds = time.monotonic() - started

    report = plugin["report"]
    requests = sum(done for _, done, _ in clients)
    client_errors = [e for _, _, errors in clients for e in errors]
    record(
        "concurrency",
        plugin_threads=len(instances),
        plugin_calls=report["calls"],
        plugin_seconds=report["seconds"],
        mismatches=report["mismatches"],
        plugin_errors=report["error_count"],
        http_clients=CLIENTS,
        http_requests=requests,
        http_errors=len(client_errors),
        seconds=f"{seconds:.2f}",
    )
    assert not threads.is_alive()
    assert report["alive"] == 0, report
    assert report["error_count"] == 0, report
    assert report["mismatches"] == 0, report
    assert report["calls"] == 2 * THREADS_ROUNDS * len(instances)
    assert client_errors == []
    assert requests >= CLIENTS * (CLIENT_REQUESTS // 3)
    reliability.alive()


# ---- faults in plugin code ------------------------------------------------

# kind: (status, what Orthanc's log must show for it)
FAULTS = {
    "raise": (500, "RuntimeError: REL-FAULT-RAISE"),
    "raise-keyboard": (500, "KeyboardInterrupt: REL-FAULT-KEYBOARD"),
    "raise-exit": (500, "SystemExit: REL-FAULT-EXIT"),
    "unsupported": (500, "TypeError: a route handler must return"),
    "unsupported-set": (500, "not set"),
    "bad-status": (500, "ValueError: Response.status 99"),
    "status-str": (500, "TypeError: Response.status must be an int"),
    "header-newline": (500, "must not contain NUL, CR or LF"),
    "content-type-nul": (500, "must not contain NUL, CR or LF"),
    "too-large": (500, "an answer must be smaller than 4 GiB"),
}


@pytest.mark.parametrize("kind", list(FAULTS))
def test_faulty_handler_answers_and_logs(
    reliability: Reliability, kind: str
) -> None:
    server = reliability.server
    status, marker = FAULTS[kind]

    answer = server.get(f"/rel/fault/{kind}?tag={kind}", timeout=30)

    assert answer.status == status
    records = log_records(server.log(), marker)
    assert records, server.log()[-3000:]
    assert "Traceback (most recent call last)" in records[-1]
    assert "route /rel/fault/([a-z-]+) failed" in records[-1]
    # The header that could have split the answer was never sent.
    assert "set-cookie" not in answer.headers
    # The next request works.
    reliability.alive()
    assert server.get(f"/rel/nested/{reliability.big}").status == 200


@pytest.mark.slow
def test_huge_answer(reliability: Reliability) -> None:
    """A 256 MiB answer from a handler arrives whole."""
    mib = 256
    started = time.monotonic()

    answer = reliability.server.get(f"/rel/fault/huge?mib={mib}", timeout=120)

    seconds = time.monotonic() - started
    expected = bytes(range(256)) * (mib * 2**20 // 256)
    record("huge answer", mib=mib, seconds=f"{seconds:.2f}")
    assert answer.status == 200
    assert len(answer.body) == len(expected)
    assert hashlib.sha256(answer.body).digest() == (
        hashlib.sha256(expected).digest()
    )
    reliability.alive()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sleep", "spin"])
def test_blocked_handler_does_not_block_others(
    reliability: Reliability, kind: str
) -> None:
    """A handler that sleeps, or spins holding the GIL, for 3 s."""
    server = reliability.server
    seconds = 3.0
    blocked: dict = {}

    def block() -> None:
        started = time.monotonic()
        blocked["answer"] = server.get(
            f"/rel/fault/{kind}?seconds={seconds}", timeout=60
        )
        blocked["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=block)
    thread.start()
    time.sleep(0.3)
    latencies = []
    while thread.is_alive() and len(latencies) < 200:
        started = time.monotonic()
        assert server.get("/system", timeout=10).status == 200
        answer = server.get(f"/rel/nested/{reliability.big}", timeout=10)
        assert answer.status == 200
        latencies.append(time.monotonic() - started)
    thread.join(30)

    record(
        f"blocked handler ({kind})",
        blocked_seconds=f"{blocked['seconds']:.2f}",
        requests_meanwhile=len(latencies),
        worst_latency_ms=f"{max(latencies) * 1000:.0f}",
    )
    assert blocked["answer"].status == 200
    assert blocked["seconds"] >= seconds
    assert len(latencies) >= 5
    assert max(latencies) < 1.0
