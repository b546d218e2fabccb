# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmark plugin for Debian's orthanc-python (module ``orthanc``).

The same routes and workloads as ``sdk_plugin.py``, under ``/bench/opy/``,
written against orthanc-python's own API.  That plugin answers
``bytes``: every DICOM file is copied out of Orthanc's memory before the
script sees it, so its ``dicom-view`` and ``dicom-numpy`` are views of that
copy, and its ``dicom-bytes`` is the answer itself.  numpy comes from
Debian's ``python3-numpy``; without it the numpy workloads are refused.
"""

import json
import sys
import threading
import time

import orthanc

try:
    import numpy
except ImportError:
    numpy = None

MAX_ITERATIONS = 1_000_000


def _sum_words(data):
    size = len(data)
    words = numpy.frombuffer(data, numpy.uint64, count=size // 8)
    tail = numpy.frombuffer(data, numpy.uint8, offset=size // 8 * 8)
    return int(words.sum()) + int(tail.sum())


def _workload(name, arg, number):
    def system():
        return len(orthanc.RestApiGet("/system"))

    def dicom_view():
        with memoryview(orthanc.GetDicomForInstance(arg)) as view:
            return view.nbytes

    def dicom_numpy():
        array = numpy.frombuffer(orthanc.GetDicomForInstance(arg), numpy.uint8)
        return array.size

    def dicom_read():
        return _sum_words(orthanc.GetDicomForInstance(arg))

    def dicom_bytes():
        data = orthanc.GetDicomForInstance(arg)
        return data[len(data) // 2]

    def lookup_study():
        return len(orthanc.LookupStudy(arg))

    def get_property():
        return len(orthanc.GetGlobalProperty(number, ""))

    def set_property():
        orthanc.SetGlobalProperty(number, arg)
        return 0

    workloads = {
        "system": system,
        "dicom-view": dicom_view,
        "dicom-numpy": dicom_numpy,
        "dicom-read": dicom_read,
        "dicom-bytes": dicom_bytes,
        "lookup-study": lookup_study,
        "get-property": get_property,
        "set-property": set_property,
    }
    if numpy is None and name in ("dicom-numpy", "dicom-read"):
        raise ValueError("numpy is not installed (apt install python3-numpy)")
    return workloads[name]


def run(output, uri, **request):
    arguments = request["get"]
    iterations = int(arguments.get("n", "1"))
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise ValueError("n is out of range")
    once = _workload(
        arguments["workload"],
        arguments.get("arg", ""),
        int(arguments.get("property", "0")),
    )
    each = arguments.get("each", "1") != "0"

    times = []
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
    answer = {"ns": times, "total_ns": total, "n": iterations, "check": check}
    output.AnswerBuffer(json.dumps(answer), "application/json")


def system(output, uri, **request):
    output.AnswerBuffer(orthanc.RestApiGet("/system"), "application/json")


def sink(output, uri, **request):
    answer = {"size": len(request.get("body", b""))}
    output.AnswerBuffer(json.dumps(answer), "application/json")


def _progress(work):
    count = [0]
    stop = threading.Event()

    def spin():
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


def gil(output, uri, **request):
    instance = request["get"]["arg"]
    answer = _progress(lambda: orthanc.GetDicomForInstance(instance))
    output.AnswerBuffer(json.dumps(answer), "application/json")


def info(output, uri, **request):
    answer = {
        "python": sys.version.split()[0],
        "implementation": "orthanc-python",
        "numpy": numpy.__version__ if numpy is not None else "",
    }
    output.AnswerBuffer(json.dumps(answer), "application/json")


orthanc.RegisterRestCallback("/bench/opy/run", run)
orthanc.RegisterRestCallback("/bench/opy/system", system)
orthanc.RegisterRestCallback("/bench/opy/sink", sink)
orthanc.RegisterRestCallback("/bench/opy/info", info)
orthanc.RegisterRestCallback("/bench/opy/gil", gil)
