# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmarks inside a real Orthanc: orthanc_sdk, the C floor, orthanc-python.

Run by ``scripts/bench.sh`` (which builds the C floor and sets up), or::

    .venv/bin/python benchmarks/run.py --floor build/bench/libBenchFloor.so

Two Orthanc processes run side by side on loopback, each with its own
temporary storage holding the same generated DICOM instances:

* **A**: the C floor (``floor.c``) and the orthanc_sdk shim with
  ``sdk_plugin.py``;
* **B**: the C floor and Debian's orthanc-python with ``opy_plugin.py``
  (when that plugin is installed).

The two Pythons are different builds, and two libpythons in one process
clash, hence two processes.  Every workload is timed inside Orthanc, by a
route of each plugin that runs it N times; the driver alternates C and
Python batches, and the two processes, over several rounds, so that each
figure has a C floor measured at the same moment.  Ratios to orthanc-python
go through that floor: (ours / C in A) / (orthanc-python / C in B).
Both Orthancs run with glibc's mmap threshold pinned (see
:func:`malloc_env`), so that large answers cost the same in every batch.
"""

from __future__ import annotations

import argparse
import glob
import http.client
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import orthanc_sdk
from orthanc_sdk.server import OrthancServer, find_orthanc

HERE = os.path.dirname(os.path.abspath(__file__))
MIB = 1024 * 1024
# Global properties the benchmarks write: plugins' range, far from others.
PROPERTY = 4242
OPY_PLUGIN_GLOBS = (
    "/usr/share/orthanc/plugins/libOrthancPython.so",
    "/usr/lib/orthanc/libOrthancPython.so*",
)
RECORD_BEGIN = "<!-- bench:begin -->"
RECORD_END = "<!-- bench:end -->"


@dataclass
class Mode:
    """How much work one run does."""

    rounds: int
    sizes_mib: Sequence[float]
    calls: int  # iterations per batch of the small workloads
    # By size: (iterations per batch, pairs of batches per round).
    dicom_calls: dict[float, tuple[int, int]]
    http_rounds: int
    http_requests: int  # requests per HTTP configuration and round
    http_clients: Sequence[int]
    memory_size_mib: float  # the DICOM size of the memory part
    memory_calls: int  # calls per operation in the memory part
    memory_bodies: int  # POSTs of memory_body_mib in the memory part
    memory_body_mib: float


FULL = Mode(
    rounds=11,
    sizes_mib=(1, 10, 100),
    calls=500,
    dicom_calls={1: (20, 1), 10: (3, 2), 100: (1, 5)},
    http_rounds=5,
    http_requests=1500,
    http_clients=(1, 4, 16),
    memory_size_mib=0.0625,
    memory_calls=100_000,
    memory_bodies=1000,
    memory_body_mib=10,
)
QUICK = Mode(
    rounds=1,
    sizes_mib=(0.0625, 1),
    calls=50,
    dicom_calls={0.0625: (5, 1), 1: (1, 2)},
    http_rounds=1,
    http_requests=40,
    http_clients=(1, 4),
    memory_size_mib=0.0625,
    memory_calls=500,
    memory_bodies=5,
    memory_body_mib=1,
)


# ---- the set-up -----------------------------------------------------------


def make_dicom(size: int) -> bytes:
    """A Secondary Capture file of about ``size`` bytes (random pixels)."""
    from pydicom import dcmwrite
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import (
        ExplicitVRLittleEndian,
        SecondaryCaptureImageStorage,
        generate_uid,
    )

    # Rows is 16-bit: large files are made of frames of 64 KiB.
    columns = 1024
    payload = max(columns, size - 2048)
    rows = min(payload // columns, 64)
    frames = max(1, payload // (rows * columns))
    dataset = Dataset()
    dataset.PatientID = f"bench-{size}"
    dataset.PatientName = "Bench^Size"
    dataset.StudyInstanceUID = generate_uid()
    dataset.SeriesInstanceUID = generate_uid()
    dataset.SOPInstanceUID = generate_uid()
    dataset.SOPClassUID = SecondaryCaptureImageStorage
    dataset.Modality = "OT"
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.Rows = rows
    dataset.Columns = columns
    dataset.BitsAllocated = 8
    dataset.BitsStored = 8
    dataset.HighBit = 7
    dataset.PixelRepresentation = 0
    if frames > 1:
        dataset.NumberOfFrames = frames
    dataset.PixelData = os.urandom(rows * columns * frames)
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.file_meta = meta

    stream = io.BytesIO()
    dcmwrite(stream, dataset, enforce_file_format=True)
    return stream.getvalue()


def find_opy_plugin() -> str | None:
    """The orthanc-python plugin that Debian installs, if it is there."""
    for pattern in OPY_PLUGIN_GLOBS:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


@dataclass
class Side:
    """One Orthanc process: the C floor and one Python plugin."""

    name: str  # "sdk" or "opy": the Python plugin's route prefix
    label: str
    server: OrthancServer
    instances: dict[float, str] = field(default_factory=dict)
    study_uid: str = ""
    info: dict[str, str] = field(default_factory=dict)

    def run(self, impl: str, workload: str, n: int, **extra: Any) -> Any:
        """Run a workload inside Orthanc; its answer (timings) as JSON."""
        query = "&".join(
            f"{key}={value}"
            for key, value in {"workload": workload, "n": n, **extra}.items()
        )
        answer = self.server.get(f"/bench/{impl}/run?{query}", timeout=900)
        if answer.status != 200:
            raise RuntimeError(
                f"{self.label}: /bench/{impl}/run?{query} answered"
                f" {answer.status}: {answer.text[:500]}\n"
                + self.server.log()[-3000:]
            )
        return answer.json()

    def rss_kib(self) -> int:
        """The resident size of this Orthanc process, in KiB."""
        with open(f"/proc/{self.server.pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc/<pid>/status")


def start_sides(
    stack: ExitStack,
    floor: str,
    opy: str | None,
    files: dict[float, bytes],
    env: dict[str, str],
) -> list[Side]:
    """Start both Orthanc processes and load the instances into each."""
    config = {"HttpThreadsCount": 50}
    sdk = OrthancServer(
        plugins=[floor, orthanc_sdk.plugin_path()],
        config={
            **config,
            "OrthancSdk": {"Script": os.path.join(HERE, "sdk_plugin.py")},
        },
        env=env,
    )
    sides = [Side("sdk", "orthanc_sdk", stack.enter_context(sdk))]
    if opy is not None:
        other = OrthancServer(
            plugins=[floor, opy],
            config={
                **config,
                "PythonScript": os.path.join(HERE, "opy_plugin.py"),
                "PythonVerbose": False,
            },
            env=env,
        )
        sides.append(Side("opy", "orthanc-python", stack.enter_context(other)))

    for side in sides:
        for impl in ("c", side.name):
            # Orthanc starts even when a plugin fails to load: check.
            probe = side.server.get(f"/bench/{impl}/system")
            if probe.status != 200:
                raise RuntimeError(
                    f"{side.label}: the {impl} plugin did not load\n"
                    + side.server.log()[-3000:]
                )
        side.info = side.server.get(f"/bench/{side.name}/info").json()
        for size, data in files.items():
            answer = side.server.post(
                "/instances",
                data,
                headers={"Content-Type": "application/dicom"},
                timeout=300,
            )
            if answer.status != 200:
                raise RuntimeError(f"upload refused: {answer.text[:300]}")
            side.instances[size] = answer.json()["ID"]
        study = side.server.get(
            f"/instances/{side.instances[min(files)]}/study"
        ).json()
        side.study_uid = study["MainDicomTags"]["StudyInstanceUID"]
        side.run("c", "set-property", 1, property=PROPERTY, arg="bench")
    return sides


# ---- in-process timings ---------------------------------------------------


@dataclass
class Row:
    """One line of the table: a C workload and its Python counterpart."""

    label: str
    c_workload: str
    py_workload: str
    n: int
    size: float | None = None  # the DICOM size, for the dicom workloads
    extra: dict[str, Any] = field(default_factory=dict)
    # Pairs of batches (C, Python) per round.
    pairs: int = 1
    # The processes that run it ("sdk", "opy").
    sides: tuple[str, ...] = ("sdk", "opy")
    # Batches of samples (ns per iteration, one batch a round) by side
    # name, for "c" and "py".
    samples: dict[tuple[str, str], list[list[int]]] = field(
        default_factory=dict
    )


def rows_for(mode: Mode) -> list[Row]:
    """The workloads of the in-process part."""
    rows = [
        Row("rest_api_get /system", "system", "system", mode.calls),
        Row(
            "rest_api_get /system, C tier (lib)",
            "system",
            "system-c-tier",
            mode.calls,
            sides=("sdk",),
        ),
        Row("lookup_study", "lookup-study", "lookup-study", mode.calls),
        Row(
            "get_global_property",
            "get-property",
            "get-property",
            mode.calls,
            extra={"property": PROPERTY},
        ),
        Row(
            "set_global_property",
            "set-property",
            "set-property",
            max(1, mode.calls // 5),
            extra={"property": PROPERTY, "arg": "bench"},
        ),
    ]
    consumers = (
        ("memoryview", "dicom", "dicom-view"),
        ("numpy view", "dicom", "dicom-numpy"),
        ("read fully", "dicom-read", "dicom-read"),
        ("bytes", "dicom-bytes", "dicom-bytes"),
    )
    for size in mode.sizes_mib:
        for what, c_workload, py_workload in consumers:
            rows.append(
                Row(
                    f"get_dicom {size_label(size)}, {what}",
                    c_workload,
                    py_workload,
                    mode.dicom_calls[size][0],
                    size=size,
                    pairs=mode.dicom_calls[size][1],
                )
            )
    return rows


def size_label(size_mib: float) -> str:
    if size_mib >= 1:
        return f"{size_mib:g} MiB"
    return f"{size_mib * 1024:g} KiB"


def arguments(side: Side, row: Row) -> dict[str, Any]:
    extra = dict(row.extra)
    if row.size is not None:
        extra["arg"] = side.instances[row.size]
    elif row.c_workload == "lookup-study":
        extra["arg"] = side.study_uid
    return extra


def time_rows(sides: list[Side], rows: list[Row], rounds: int) -> None:
    """Fill each row's samples: C and Python batches, interleaved."""
    for side in sides:
        # Warm-up: page cache, Orthanc's storage cache, Python's imports.
        for row in rows:
            if side.name not in row.sides:
                continue
            for impl in ("c", side.name):
                workload = row.c_workload if impl == "c" else row.py_workload
                side.run(impl, workload, 1, **arguments(side, row))
    for number in range(rounds):
        order = sides if number % 2 == 0 else sides[::-1]
        for side in order:
            for row in rows:
                if side.name not in row.sides:
                    continue
                pair = [("c", row.c_workload), ("py", row.py_workload)]
                if number % 2:
                    pair.reverse()
                for impl, workload in pair * row.pairs:
                    route = "c" if impl == "c" else side.name
                    answer = side.run(
                        route, workload, row.n, **arguments(side, row)
                    )
                    row.samples.setdefault((side.name, impl), []).append(
                        answer["ns"]
                    )
        print(f"bench: round {number + 1}/{rounds} done", flush=True)


# ---- HTTP end to end ------------------------------------------------------


@dataclass
class HttpResult:
    side: str
    impl: str
    clients: int
    latencies_ns: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    requests: int = 0


def http_round(port: int, path: str, clients: int, total: int) -> tuple:
    """``total`` GETs of ``path`` by ``clients`` keep-alive clients."""
    per_client = max(1, total // clients)
    latencies: list[list[int]] = [[] for _ in range(clients)]
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def client(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            barrier.wait()
            mine = latencies[number]
            for _ in range(per_client):
                start = time.perf_counter_ns()
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                mine.append(time.perf_counter_ns() - start)
                if response.status != 200:
                    errors.append(f"{path}: {response.status}")
                    return
        except Exception as error:  # reported below, in the main thread
            errors.append(f"{path}: {error!r}")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=client, args=(i,)) for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    if errors:
        raise RuntimeError("HTTP benchmark failed: " + "; ".join(errors[:5]))
    return (
        [x for mine in latencies for x in mine],
        seconds,
        per_client * clients,
    )


def time_http(sides: list[Side], mode: Mode) -> list[HttpResult]:
    """End-to-end latency and throughput of the /system routes."""
    results = {
        (side.name, impl, clients): HttpResult(side.name, impl, clients)
        for side in sides
        for impl in ("c", "py")
        for clients in mode.http_clients
    }
    for number in range(mode.http_rounds):
        order = sides if number % 2 == 0 else sides[::-1]
        for side in order:
            for clients in mode.http_clients:
                impls = ["c", "py"] if number % 2 == 0 else ["py", "c"]
                for impl in impls:
                    route = "c" if impl == "c" else side.name
                    latencies, seconds, count = http_round(
                        side.server.http_port,
                        f"/bench/{route}/system",
                        clients,
                        mode.http_requests,
                    )
                    result = results[(side.name, impl, clients)]
                    result.latencies_ns.extend(latencies)
                    result.seconds.append(seconds)
                    result.requests += count
    return list(results.values())


# ---- the GIL --------------------------------------------------------------


def measure_gil(sides: list[Side], mode: Mode) -> dict[str, list[float]]:
    """Per side: how fast another Python thread ran during the call.

    As a share of its speed alone, during get_dicom_for_instance of the
    largest instance, a few times.
    """
    largest = max(mode.sizes_mib)
    shares: dict[str, list[float]] = {}
    for side in sides:
        for _ in range(3):
            answer = side.server.get(
                f"/bench/{side.name}/gil?arg={side.instances[largest]}",
                timeout=300,
            )
            if answer.status != 200:
                raise RuntimeError(f"{side.label}: /gil {answer.status}")
            shares.setdefault(side.name, []).append(answer.json()["share"])
    return shares


# ---- memory ---------------------------------------------------------------


@dataclass
class MemoryResult:
    side: str
    impl: str
    operation: str
    calls: int
    before_kib: int
    after_kib: int
    # For the bodies: the size after the first tenth of the requests, to
    # tell a warm-up from a growth per request; why the run stopped early.
    tenth_kib: int | None = None
    note: str = ""


def memory_operations(mode: Mode) -> list[tuple[str, str, str, dict]]:
    """(label, C workload, Python workload, arguments) of the memory part."""
    size = size_label(mode.memory_size_mib)
    return [
        ("rest_api_get /system", "system", "system", {}),
        (f"get_dicom {size}, memoryview", "dicom", "dicom-view", {}),
        (f"get_dicom {size}, bytes", "dicom-bytes", "dicom-bytes", {}),
        ("lookup_study", "lookup-study", "lookup-study", {}),
        ("get_global_property", "get-property", "get-property", {}),
        (
            "set_global_property",
            "set-property",
            "set-property",
            {"arg": "bench"},
        ),
    ]


def measure_memory(sides: list[Side], mode: Mode) -> list[MemoryResult]:
    """RSS before and after many calls of each operation, then bodies."""
    results = []
    chunk = min(10_000, mode.memory_calls)
    smallest = mode.memory_size_mib
    for side in sides:
        for label, c_workload, py_workload, extra in memory_operations(mode):
            for impl, workload in (("py", py_workload), ("c", c_workload)):
                route = "c" if impl == "c" else side.name
                args = {"property": PROPERTY, **extra}
                if workload.startswith("dicom"):
                    args["arg"] = side.instances[smallest]
                elif workload == "lookup-study":
                    args["arg"] = side.study_uid
                # Warm-up: caches and pools reach their working size.
                side.run(route, workload, chunk // 10 or 1, each=0, **args)
                before = side.rss_kib()
                done = 0
                while done < mode.memory_calls:
                    count = min(chunk, mode.memory_calls - done)
                    side.run(route, workload, count, each=0, **args)
                    done += count
                results.append(
                    MemoryResult(
                        side.name, impl, label, done, before, side.rss_kib()
                    )
                )
        results.append(post_bodies(side, mode))
        print(f"bench: memory of {side.label} done", flush=True)
    return results


# A plugin that keeps every body would take the machine's memory: the
# bodies stop when the process has grown by this much.
BODY_GROWTH_LIMIT_KIB = 1024 * 1024


def post_bodies(side: Side, mode: Mode) -> MemoryResult:
    """RSS before and after POSTs of a large body to the Python route."""
    body = os.urandom(int(mode.memory_body_mib * MIB))
    path = f"/bench/{side.name}/sink"
    connection = http.client.HTTPConnection(
        "127.0.0.1", side.server.http_port, timeout=120
    )
    before = 0
    tenth = None
    note = ""
    done = 0
    try:
        for number in range(mode.memory_bodies + 1):
            if number == 1:
                # The first request sizes Orthanc's buffers: start after.
                before = side.rss_kib()
            elif number == max(2, mode.memory_bodies // 10 + 1):
                tenth = side.rss_kib()
            if number > 0 and side.rss_kib() - before > BODY_GROWTH_LIMIT_KIB:
                note = f"stopped: grew by over {BODY_GROWTH_LIMIT_KIB // 1024}"
                note += " MiB"
                break
            connection.request(
                "POST",
                path,
                body,
                {"Content-Type": "application/octet-stream"},
            )
            response = connection.getresponse()
            answer = response.read()
            if response.status != 200 or json.loads(answer)["size"] != len(
                body
            ):
                raise RuntimeError(f"{path} answered {response.status}")
            done = number
    finally:
        connection.close()
    return MemoryResult(
        side.name,
        "py",
        f"POST {size_label(mode.memory_body_mib)} body",
        done,
        before,
        side.rss_kib(),
        tenth_kib=tenth,
        note=note,
    )


# ---- the report -----------------------------------------------------------


def us(ns: float) -> str:
    """Nanoseconds as a short figure in µs or ms."""
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e3:.1f} µs"


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def spread(batches: list[list[int]]) -> str:
    """Median (min–max) of all the samples of all the batches."""
    samples = [x for batch in batches for x in batch]
    return f"{us(statistics.median(samples))} ({us(min(samples))}–" + (
        f"{us(max(samples))})"
    )


def ratio(top: list[list[int]], bottom: list[list[int]]) -> list[float]:
    """Per round: the median of a batch over that of its twin batch.

    The twin ran just before or after it, in the same process, so a slow
    spell of the machine weighs on both.
    """
    return [
        statistics.median(a) / statistics.median(b)
        for a, b in zip(top, bottom, strict=True)
    ]


def machine() -> list[str]:
    """What the run ran on: CPU, cores, memory, versions."""
    cpu = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="ascii") as f:
        total_kib = int(f.readline().split()[1])
    orthanc = subprocess.run(
        [find_orthanc(), "--version"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.splitlines()[0]
    lines = [
        f"- machine: {cpu}, {os.cpu_count()} cores,"
        f" {total_kib / MIB:.0f} GiB, {platform.platform()}",
        f"- Orthanc: {orthanc.strip()}",
    ]
    packages = []
    for package in ("orthanc", "orthanc-python"):
        try:
            version = subprocess.run(
                ["dpkg-query", "-W", "-f=${Version}", package],
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout.strip()
        except OSError:
            version = ""
        if version:
            packages.append(f"{package} {version}")
    if packages:
        lines.append(f"- Debian packages: {', '.join(packages)}")
    return lines


def report(
    sides: list[Side],
    rows: list[Row],
    http: list[HttpResult],
    memory: list[MemoryResult],
    gil: dict[str, list[float]],
    largest: float,
    command: str,
    mode_name: str,
    started: float,
    fakecore: str | None = None,
) -> tuple[str, list[str]]:
    """The Markdown report, and the lines that say whether targets hold."""
    names = [side.name for side in sides]
    have_opy = "opy" in names
    out = [f"Command: `{command}` ({mode_name} mode)", ""]
    if mode_name == "quick":
        out += [
            "Quick mode proves that the harness works: its counts are too",
            "small for the figures, ratios and verdicts to mean anything.",
            "",
        ]
    out += machine()
    for side in sides:
        info = side.info
        out.append(
            f"- {side.label}: {info.get('implementation')}, Python"
            f" {info.get('python')}, numpy {info.get('numpy') or 'none'}"
        )
    out.append(
        f"- run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())},"
        f" {time.monotonic() - started:.0f} s"
    )
    out += [
        "",
        "### Inside Orthanc (per call: median (min–max))",
        "",
        "Ratios: the median over the rounds of the ratio of batch medians,",
        "each Python batch beside a C batch of the same round and process;",
        "ours/opy is (ours/C in A) / (opy/C in B), round by round.",
        "",
    ]
    header = "| workload | C floor (A) | orthanc_sdk | ours/C |"
    rule = "|---|---|---|---|"
    if have_opy:
        header += " C floor (B) | orthanc-python | opy/C | ours/opy |"
        rule += "---|---|---|---|"
    out += [header, rule]
    ratios: dict[str, tuple[float, float | None]] = {}
    for row in rows:
        c_a = row.samples[("sdk", "c")]
        ours = row.samples[("sdk", "py")]
        ours_rounds = ratio(ours, c_a)
        ours_c = statistics.median(ours_rounds)
        line = f"| {row.label} | {spread(c_a)} | {spread(ours)} |"
        line += f" {ours_c:.2f} |"
        ours_opy = None
        if have_opy and ("opy", "py") not in row.samples:
            line += " | | | |"
        elif have_opy:
            c_b = row.samples[("opy", "c")]
            theirs = row.samples[("opy", "py")]
            opy_rounds = ratio(theirs, c_b)
            opy_c = statistics.median(opy_rounds)
            ours_opy = statistics.median(
                a / b for a, b in zip(ours_rounds, opy_rounds, strict=True)
            )
            line += (
                f" {spread(c_b)} | {spread(theirs)} | {opy_c:.2f} |"
                f" {ours_opy:.2f} |"
            )
        ratios[row.label] = (ours_c, ours_opy)
        out.append(line)

    out += [
        "",
        "### HTTP end to end (GET of a route that answers /system)",
        "",
        "| plugin | clients | latency median (p99) | requests/s |",
        "|---|---|---|---|",
    ]
    labels = {("sdk", "c"): "C floor (A)", ("sdk", "py"): "orthanc_sdk"}
    labels.update(
        {("opy", "c"): "C floor (B)", ("opy", "py"): "orthanc-python"}
    )
    for result in http:
        latencies = sorted(result.latencies_ns)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        rate = result.requests / sum(result.seconds)
        out.append(
            f"| {labels[(result.side, result.impl)]} | {result.clients} |"
            f" {us(statistics.median(latencies))} ({us(p99)}) |"
            f" {rate:.0f} |"
        )

    out += [
        "",
        f"### Another Python thread during get_dicom {size_label(largest)}",
        "",
        "Its counting speed while the call runs, as a share of its speed",
        "alone (1.00: the call leaves the GIL to other threads throughout).",
        "",
        "| plugin | share (each try) |",
        "|---|---|",
    ]
    for name, shares in gil.items():
        figures = ", ".join(f"{share:.2f}" for share in shares)
        out.append(f"| {labels[(name, 'py')]} | {figures} |")

    out += [
        "",
        "### Resident size of the Orthanc process",
        "",
        'The bodies start after one request; "after 1/10" is the size',
        "once a tenth of them were sent.",
        "",
        "| plugin | operation | calls | before | after 1/10 | after |"
        " growth | per call |",
        "|---|---|---|---|---|---|---|---|",
    ]
    worst = 0
    bodies: dict[str, MemoryResult] = {}
    for result in memory:
        growth = result.after_kib - result.before_kib
        if result.operation.startswith("POST"):
            bodies[result.side] = result
        elif result.impl == "py" and result.side == "sdk":
            worst = max(worst, growth)
        tenth = "" if result.tenth_kib is None else mib(result.tenth_kib)
        per_call = growth * 1024 / max(1, result.calls)
        note = f" ({result.note})" if result.note else ""
        out.append(
            f"| {labels[(result.side, result.impl)]} |"
            f" {result.operation}{note} | {result.calls:,} |"
            f" {mib(result.before_kib)} | {tenth} | {mib(result.after_kib)} |"
            f" {growth / 1024:+.2f} MiB | {per_call:+,.0f} B |"
        )

    if fakecore:
        out += fakecore_table(fakecore)
    verdicts = targets(rows, ratios, worst, have_opy)
    for name, result in bodies.items():
        growth = result.after_kib - result.before_kib
        verdicts.append(
            f"{labels[(name, 'py')]}: {result.calls:,} requests of"
            f" {result.operation.removeprefix('POST ')} to a Python route"
            f" grew the process by {growth / 1024:+.1f} MiB"
            + (f" ({result.note})" if result.note else "")
        )
    out += ["", "### Targets", ""] + [f"- {v}" for v in verdicts]
    return "\n".join(out) + "\n", verdicts


def fakecore_table(path: str) -> list[str]:
    """The pytest-benchmark figures (fake core, no Orthanc) as a table."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    out = [
        "",
        "### Over the fake core (pytest-benchmark; per call)",
        "",
        "| benchmark | median | min | max | rounds |",
        "|---|---|---|---|---|",
    ]
    for entry in sorted(data["benchmarks"], key=lambda e: e["name"]):
        stats = entry["stats"]
        out.append(
            f"| {entry['name'].removeprefix('test_')} |"
            f" {us(stats['median'] * 1e9)} | {us(stats['min'] * 1e9)} |"
            f" {us(stats['max'] * 1e9)} | {stats['rounds']} |"
        )
    return out


def targets(
    rows: list[Row],
    ratios: dict[str, tuple[float, float | None]],
    worst_growth_kib: int,
    have_opy: bool,
) -> list[str]:
    """One line per target of the work item: met or missed, by how much."""
    verdicts = []
    largest = max((row.size for row in rows if row.size), default=None)
    if largest is not None:
        label = f"get_dicom {size_label(largest)}, memoryview"
        ours_c, ours_opy = ratios[label]
        verdicts.append(
            f"{'met' if ours_c <= 1.05 else 'MISSED'}: zero-copy"
            f" get_dicom at {size_label(largest)} within 1.05x of C"
            f" (measured {ours_c:.3f}x)"
        )
        if have_opy and ours_opy is not None:
            faster = 1 / ours_opy
            verdicts.append(
                f"{'met' if faster >= 1.3 else 'MISSED'}: zero-copy"
                f" get_dicom at {size_label(largest)} at least 1.3x faster"
                f" than orthanc-python (measured {faster:.2f}x)"
            )
    ours_c, ours_opy = ratios["rest_api_get /system"]
    verdicts.append(
        f"{'met' if ours_c <= 1.10 else 'MISSED'}: rest_api_get /system"
        f" within 1.10x of C (measured {ours_c:.3f}x)"
    )
    if have_opy and ours_opy is not None:
        verdicts.append(
            f"{'met' if ours_opy <= 1.0 else 'MISSED'}: rest_api_get"
            f" /system no slower than orthanc-python (measured"
            f" {ours_opy:.3f}x its time)"
        )
    verdicts.append(
        f"{'met' if worst_growth_kib <= 2048 else 'MISSED'}: orthanc_sdk's"
        f" resident size grows at most 2 MiB over the calls of any"
        f" operation (worst {worst_growth_kib / 1024:+.2f} MiB)"
    )
    return verdicts


def record(path: str, text: str) -> None:
    """Put ``text`` between the markers of ``path`` (appended if none)."""
    try:
        with open(path, encoding="utf-8") as f:
            current = f.read()
    except FileNotFoundError:
        current = ""
    block = f"{RECORD_BEGIN}\n{text}{RECORD_END}\n"
    begin = current.find(RECORD_BEGIN)
    end = current.find(RECORD_END)
    if begin >= 0 and end > begin:
        current = current[:begin] + block + current[end + len(RECORD_END) :]
        current = current.replace(f"{RECORD_END}\n\n", f"{RECORD_END}\n", 1)
    else:
        current += ("\n" if current else "") + block
    with open(path, "w", encoding="utf-8") as f:
        f.write(current)


# ---- main -----------------------------------------------------------------


def malloc_env(args: argparse.Namespace) -> dict[str, str]:
    """The environment of both Orthancs: glibc's allocator, pinned.

    glibc raises its mmap threshold each time a large block is freed, per
    arena, and Orthanc serves each request from one of its HTTP threads
    with their own arenas: a 1 MiB answer then costs 60 µs (reused warm
    memory) or 1.3 ms (fresh pages), depending on the thread and history.
    A fixed threshold (glibc's initial one) makes every block above
    128 KiB fresh memory, as in a newly started Orthanc; a high trim
    threshold keeps the heap below it warm (else freeing a 64 KiB block
    may give pages back and the next one faults them in again).
    """
    if args.default_malloc:
        return {}
    return {
        "MALLOC_MMAP_THRESHOLD_": str(128 * 1024),
        "MALLOC_TRIM_THRESHOLD_": str(256 * MIB),
    }


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--floor", required=True, help="the built C floor plugin (.so)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and counts: proves the harness, measures nothing",
    )
    parser.add_argument(
        "--rounds", type=int, help="rounds of interleaved batches"
    )
    parser.add_argument(
        "--opy-plugin",
        help="orthanc-python's plugin (default: Debian's, when installed)",
    )
    parser.add_argument(
        "--default-malloc",
        action="store_true",
        help="leave glibc's dynamic mmap threshold on (bimodal figures)",
    )
    parser.add_argument(
        "--no-opy", action="store_true", help="leave orthanc-python out"
    )
    parser.add_argument(
        "--record", help="write the report between the markers of this file"
    )
    parser.add_argument(
        "--fakecore", help="pytest-benchmark's JSON, to add to the report"
    )
    parser.add_argument(
        "--command",
        default="make bench",
        help="the command to name in the report",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    """Run the benchmarks; print the report; 1 if the harness failed."""
    args = parse(argv)
    mode = QUICK if args.quick else FULL
    if args.rounds is not None:
        if args.rounds < 1:
            raise SystemExit("--rounds must be at least 1")
        mode.rounds = args.rounds
    floor = os.path.abspath(args.floor)
    if not os.path.exists(floor):
        raise SystemExit(f"no C floor plugin at {floor}: build it first")
    opy = None if args.no_opy else args.opy_plugin or find_opy_plugin()
    if opy is None and not args.no_opy:
        print("bench: orthanc-python is not installed: left out", flush=True)
    started = time.monotonic()

    print("bench: generating the DICOM instances", flush=True)
    sizes = {*mode.sizes_mib, mode.memory_size_mib}
    files = {size: make_dicom(int(size * MIB)) for size in sorted(sizes)}
    with ExitStack() as stack:
        sides = start_sides(stack, floor, opy, files, malloc_env(args))
        del files
        print(f"bench: {len(sides)} Orthanc processes ready", flush=True)
        rows = rows_for(mode)
        time_rows(sides, rows, mode.rounds)
        http = time_http(sides, mode)
        print("bench: HTTP done", flush=True)
        gil = measure_gil(sides, mode)
        memory = measure_memory(sides, mode)
        text, verdicts = report(
            sides,
            rows,
            http,
            memory,
            gil,
            max(mode.sizes_mib),
            args.command,
            "quick" if args.quick else "full",
            started,
            args.fakecore,
        )
    print()
    print(text)
    if args.record:
        record(args.record, text)
        print(f"bench: recorded in {args.record}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
