# SPDX-License-Identifier: GPL-3.0-or-later
"""No leak under load: Orthanc's resident size stays flat.

Each scenario runs a warm-up (a tenth of its count), reads the resident
size of the Orthanc process from ``/proc/<pid>/status``, runs its full
count inside the plugin (or, for POSTs, from an HTTP client), and reads it
again: the growth must stay under :data:`BUDGET_KIB`.  Every scenario ends
with ``GET /system`` answering 200.  The figures go to the "reliability
figures" section of the terminal summary.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from typing import Any

import pytest
from reliability_report import record, rss_kib
from reliability_server import Reliability

pytest_plugins = ("reliability_report", "reliability_server")
pytestmark = [pytest.mark.orthanc, pytest.mark.slow]

BUDGET_KIB = 10 * 1024


def _measure(
    state: Reliability,
    scenario: str,
    count: int,
    run: Callable[[int], Any],
) -> int:
    """Warm up, run ``count``, record and return the growth in KiB."""
    pid = state.server.pid
    run(max(1, count // 10))
    before = rss_kib(pid)
    started = time.monotonic()
    report = run(count)
    seconds = time.monotonic() - started
    after = rss_kib(pid)
    growth = after - before
    calls = report["calls"] if isinstance(report, dict) else count
    record(
        f"leak {scenario}",
        count=count,
        calls=calls,
        seconds=f"{seconds:.2f}",
        rss_before_kib=before,
        rss_after_kib=after,
        growth_kib=growth,
    )
    state.alive()
    return growth


SCENARIOS: dict[str, tuple[int, Callable[[Reliability, int], Any]]] = {
    "rest_api_get /system": (
        20_000,
        lambda s, n: s.loop("system", n),
    ),
    "get_dicom_for_instance 1 MiB": (
        2_000,
        lambda s, n: s.loop(
            "dicom", n, instance=s.big, size=s.big_size, keep=0
        ),
    ),
    "get_dicom_for_instance 1 MiB, views kept": (
        2_000,
        lambda s, n: s.loop(
            "dicom", n, instance=s.big, size=s.big_size, keep=4
        ),
    ),
    "lookups (5 kinds)": (
        5_000,
        lambda s, n: s.loop("lookups", n, tags=s.big_tags, expected=s.big_ids),
    ),
    "global property set+get": (
        5_000,
        lambda s, n: s.loop("properties", n),
    ),
    "call_rest_api with headers": (
        5_000,
        lambda s, n: s.loop("call_headers", n, instance=s.big),
    ),
    "failing calls (4 kinds)": (
        1_000,
        lambda s, n: s.loop("failing", n),
    ),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_no_leak_in_plugin_loop(
    reliability: Reliability, scenario: str
) -> None:
    count, run = SCENARIOS[scenario]

    growth = _measure(
        reliability, scenario, count, lambda n: run(reliability, n)
    )

    assert growth < BUDGET_KIB


def test_no_leak_posting_to_a_python_route(reliability: Reliability) -> None:
    """300 POSTs of 1 MiB, each body copied into the Request and hashed."""
    server = reliability.server
    body = os.urandom(2**20)
    digest = hashlib.sha256(body).hexdigest()

    def post(count: int) -> dict[str, Any]:
        for _ in range(count):
            answer = server.post("/rel/sink", body)
            assert answer.status == 200, answer.text
            assert answer.json() == {"len": len(body), "sha256": digest}
        return {"calls": count}

    growth = _measure(reliability, "POST 1 MiB to a Python route", 300, post)

    assert growth < BUDGET_KIB
