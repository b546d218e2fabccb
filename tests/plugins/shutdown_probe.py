# SPDX-License-Identifier: GPL-3.0-or-later
"""Plugin script for ``tests/test_orthanc_shutdown.py``.

It leaves Orthanc two things to cope with at shutdown: a non-daemon thread
that calls the SDK in a loop, and Buffers (one with a numpy view on it)
still alive in module globals.  Keys of the ``"OrthancSdk"`` section:

* ``TestOutput``: a file; the thread writes there what ended its calls
  (``ContextClosedError: ...`` once the plugin is finalized);
* ``ThreadMode``: ``"exit"`` (the thread returns on ContextClosedError) or
  ``"stubborn"`` (it goes on calling, and getting the error, until the
  process exits).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import numpy

from orthanc_sdk import (
    Buffer,
    Context,
    ContextClosedError,
    NotReadyError,
    Request,
)

logger = logging.getLogger("shutdown_probe")

#: Alive until the interpreter goes (or forever, if it is never finalized).
KEPT: list[Any] = []
_calls = 0


def _report(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(text + "\n")
        stream.flush()
        os.fsync(stream.fileno())


def _loop(context: Context, path: str, stubborn: bool) -> None:
    global _calls
    reported = False
    while True:
        try:
            answer = context.rest_api_get("/system")
        except NotReadyError:
            # The database is not there before ORTHANC_STARTED.
            time.sleep(0.01)
            continue
        except ContextClosedError as error:
            if not reported:
                _report(path, f"ContextClosedError after {_calls}: {error}")
                reported = True
            if not stubborn:
                return
            time.sleep(0.001)
            continue
        except BaseException as error:
            _report(path, f"unexpected: {error!r}")
            return
        _calls += 1
        if len(KEPT) < 2:
            KEPT.extend([answer, numpy.frombuffer(answer, dtype=numpy.uint8)])
        else:
            answer.release()
        time.sleep(0.001)


def _state(request: Request) -> dict[str, Any]:
    kept = [item for item in KEPT if isinstance(item, Buffer)]
    return {"calls": _calls, "kept": [len(buffer) for buffer in kept]}


def initialize(context: Context) -> None:
    """Start the looping thread; register ``/probe/shutdown-state``."""
    section = context.configuration["OrthancSdk"]
    stubborn = section["ThreadMode"] == "stubborn"
    thread = threading.Thread(
        target=_loop,
        args=(context, section["TestOutput"], stubborn),
        name="probe-sdk-loop",
    )
    thread.start()
    context.register_rest_callback("/probe/shutdown-state", _state)
    logger.warning("shutdown_probe ready (%s)", section["ThreadMode"])
