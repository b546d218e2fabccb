# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmark plugin that uses orthanc_sdk.

Loaded by the orthanc_sdk shim, beside the C floor (``floor.c``), it serves
the same routes under ``/bench/sdk/``:

* ``GET /bench/sdk/run?workload=W&n=N[&arg=A][&property=P][&each=0]``: runs
  workload W N times inside Orthanc, timing each iteration with
  ``time.perf_counter_ns``; answers ``{"ns": [...], "total_ns", "n",
  "check"}`` (``ns`` empty when ``each=0``);
* ``GET /bench/sdk/system``: what ``rest_api_get("/system")`` answered;
* ``POST /bench/sdk/sink``: the size of the body it received;
* ``GET /bench/sdk/gil?arg=ID``: how fast another Python thread runs
  while ``get_dicom_for_instance(ID)`` runs, against how fast it runs
  alone (1.0: the call leaves the GIL to others all along);
* ``GET /bench/sdk/info``: the Python and package versions.

The workloads are those of the C floor, plus the ways a Python plugin
consumes a DICOM file: ``dicom-view`` (a memoryview), ``dicom-numpy`` (a
numpy array over Orthanc's memory), ``dicom-read`` (every byte read, as
64-bit words) and ``dicom-bytes`` (a copy); and ``system-c-tier``, the
``/system`` call made through ``lib`` (cffi alone, no ``Context``).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy

import orthanc_sdk
from orthanc_sdk import ffi, lib

MAX_ITERATIONS = 1_000_000


def _sum_words(data: Any) -> int:
    """Every byte read: 64-bit words, then the tail (as the C floor)."""
    size = len(data)
    words = numpy.frombuffer(data, numpy.uint64, count=size // 8)
    tail = numpy.frombuffer(data, numpy.uint8, offset=size // 8 * 8)
    total = int(words.sum()) + int(tail.sum())
    del words, tail
    return total


def _workload(
    context: orthanc_sdk.Context, name: str, arg: str, number: int
) -> Callable[[], int]:
    """One iteration of workload ``name``; it answers a number to sum."""

    def system() -> int:
        with context.rest_api_get("/system") as answer:
            return len(answer)

    def system_c_tier() -> int:
        pointer = context.pointer
        target = ffi.new("OrthancPluginMemoryBuffer *")
        code = lib.OrthancPluginRestApiGet(pointer, target, b"/system")
        if code != lib.OrthancPluginErrorCode_Success:
            raise orthanc_sdk.OrthancError(code, "OrthancPluginRestApiGet")
        size = target.size
        lib.OrthancPluginFreeMemoryBuffer(pointer, target)
        return size

    def dicom_view() -> int:
        with context.get_dicom_for_instance(arg) as dicom:
            with memoryview(dicom) as view:
                return view.nbytes

    def dicom_numpy() -> int:
        with context.get_dicom_for_instance(arg) as dicom:
            array = numpy.frombuffer(dicom, numpy.uint8)
            size = array.size
            del array
            return size

    def dicom_read() -> int:
        with context.get_dicom_for_instance(arg) as dicom:
            return _sum_words(dicom)

    def dicom_bytes() -> int:
        with context.get_dicom_for_instance(arg) as dicom:
            data = bytes(dicom)
        return data[len(data) // 2]

    def lookup_study() -> int:
        found = context.lookup_study(arg)
        if found is None:
            raise KeyError(f"no study {arg!r}")
        return len(found)

    def get_property() -> int:
        return len(context.get_global_property(number))

    def set_property() -> int:
        context.set_global_property(number, arg)
        return 0

    workloads = {
        "system": system,
        "system-c-tier": system_c_tier,
        "dicom-view": dicom_view,
        "dicom-numpy": dicom_numpy,
        "dicom-read": dicom_read,
        "dicom-bytes": dicom_bytes,
        "lookup-study": lookup_study,
        "get-property": get_property,
        "set-property": set_property,
    }
    return workloads[name]


def run(request: orthanc_sdk.Request) -> dict[str, Any]:
    """Serve ``/bench/sdk/run``: time N iterations of a workload."""
    context = orthanc_sdk.current_context()
    arguments = request.get
    iterations = int(arguments.get("n", "1"))
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"n must be between 1 and {MAX_ITERATIONS}")
    once = _workload(
        context,
        arguments["workload"],
        arguments.get("arg", ""),
        int(arguments.get("property", "0")),
    )
    each = arguments.get("each", "1") != "0"

    times: list[int] = []
    check = 0
    total = 0
    clock = time.perf_counter_ns
    for _ in range(iterations):
        start = clock()
        check += once()
        elapsed = clock() - start
        total += elapsed
        if each:
            times.append(elapsed)
    return {"ns": times, "total_ns": total, "n": iterations, "check": check}


def system(request: orthanc_sdk.Request) -> orthanc_sdk.Response:
    """Serve ``/bench/sdk/system``: pass ``/system`` on, not copied."""
    context = orthanc_sdk.current_context()
    return orthanc_sdk.Response(
        context.rest_api_get("/system"), content_type="application/json"
    )


def sink(request: orthanc_sdk.Request) -> dict[str, int]:
    """Serve ``/bench/sdk/sink``: how many bytes the body had."""
    return {"size": len(request.body)}


def _progress(work: Callable[[], Any]) -> dict[str, float]:
    """Another thread's counting speed during ``work()`` and without it."""
    count = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            count[0] += 1

    thread = threading.Thread(target=spin, name="bench spinner")
    thread.start()
    try:
        time.sleep(0.02)
        before, start = count[0], time.perf_counter()
        time.sleep(0.05)
        idle = (count[0] - before) / (time.perf_counter() - start)
        before, start = count[0], time.perf_counter()
        work()
        seconds = time.perf_counter() - start
        during = (count[0] - before) / seconds
    finally:
        stop.set()
        thread.join()
    return {"share": during / idle, "seconds": seconds}


def gil(request: orthanc_sdk.Request) -> dict[str, float]:
    """Serve ``/bench/sdk/gil``: does a DICOM call leave the GIL free?"""
    context = orthanc_sdk.current_context()

    def work() -> None:
        context.get_dicom_for_instance(request.get["arg"]).release()

    return _progress(work)


def info(request: orthanc_sdk.Request) -> dict[str, str]:
    """Serve ``/bench/sdk/info``: what runs this plugin."""
    return {
        "python": sys.version.split()[0],
        "implementation": f"orthanc_sdk {orthanc_sdk.__version__}",
        "numpy": numpy.__version__,
    }


def initialize(context: orthanc_sdk.Context) -> None:
    """Register the benchmark routes."""
    context.register_rest_callback("/bench/sdk/run", run)
    context.register_rest_callback("/bench/sdk/system", system)
    context.register_rest_callback("/bench/sdk/sink", sink)
    context.register_rest_callback("/bench/sdk/info", info)
    context.register_rest_callback("/bench/sdk/gil", gil)
