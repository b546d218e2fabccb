# SPDX-License-Identifier: GPL-3.0-or-later
"""Route handlers run on a full-size stack, whatever thread calls them.

Orthanc calls routes from HTTP threads with 100 KiB stacks, where Python's
recursion limit is no protection: ``json.loads`` of a body nested 600 deep
overflowed one (SIGSEGV).  Here a thread with such a stack calls a route's
C callback, over the fake core, and the handler parses JSON nested 900
deep on a worker thread instead.
"""

from __future__ import annotations

import json
import threading

from fakecore import FakeCore

from orthanc_sdk import ErrorCode, Request, ffi
from orthanc_sdk.callbacks import make_rest_callback

pytest_plugins = ("fakecore",)

ORTHANC_STACK = 100 * 1024
DEPTH = 900


def _call_route(callback, body: bytes) -> int:
    """Call a route's C callback as Orthanc would, with a POST body."""
    request = ffi.new("OrthancPluginHttpRequest *")
    request.method = 2  # POST
    data = ffi.from_buffer(body)
    request.body = data
    request.bodySize = len(body)
    return callback(ffi.NULL, b"/deep", request)


def _on_small_stack(function) -> object:
    result: dict = {}

    def run() -> None:
        result["value"] = function()

    previous = threading.stack_size(ORTHANC_STACK)
    try:
        thread = threading.Thread(target=run)
        thread.start()
    finally:
        threading.stack_size(previous)
    thread.join(60)
    assert not thread.is_alive()
    return result["value"]


def test_handler_runs_off_a_small_stack(core: FakeCore) -> None:
    seen: dict = {}

    def handler(request: Request) -> None:
        seen["thread"] = threading.current_thread().name
        if seen["thread"] != "orthanc_sdk route":
            # Parsing here would overflow the small stack and kill pytest.
            return
        value = json.loads(request.body)
        depth = 0
        while isinstance(value, list):
            depth += 1
            value = value[0] if value else None
        seen["depth"] = depth

    callback = make_rest_callback(core.context, "/deep", handler)
    body = b"[" * DEPTH + b"]" * DEPTH

    code = _on_small_stack(lambda: _call_route(callback, body))

    assert code == ErrorCode.SUCCESS
    assert seen == {"thread": "orthanc_sdk route", "depth": DEPTH}
    # The answer went to the core (which the fake does not serve).
    assert core.calls[-1].service.startswith("service ")


def test_workers_are_reused_and_errors_still_answer(core: FakeCore) -> None:
    threads = set()

    def handler(request: Request) -> None:
        threads.add(threading.get_ident())
        raise RuntimeError("fails on purpose")

    callback = make_rest_callback(core.context, "/fail", handler)

    codes = [_call_route(callback, b"") for _ in range(20)]

    assert codes == [ErrorCode.PLUGIN] * 20
    # One caller at a time: one worker serves them all.
    assert len(threads) == 1
    assert threading.get_ident() not in threads


def test_a_failing_job_never_leaves_orthanc_waiting() -> None:
    """Should a job raise past its own handlers, the caller still returns."""
    from orthanc_sdk.callbacks import _run_on_worker

    def fail() -> int:
        raise SystemExit("past every handler")

    assert _run_on_worker(fail) == ErrorCode.PLUGIN
    assert _run_on_worker(lambda: 7) == 7
