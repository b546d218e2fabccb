# SPDX-License-Identifier: GPL-3.0-or-later
"""Plugin script for ``tests/test_reliability_*.py``.

Routes under ``/rel/`` run bounded loops of SDK calls inside Orthanc and
report counts, errors, mismatches and durations as JSON; others misbehave
on purpose (raise, block, answer what cannot be sent) or take what bad
HTTP clients send.  Keys of the ``"OrthancSdk"`` section:

* ``TestOutput``: a folder the tests own; the SDK-calling thread started by
  ``/rel/caller/start`` writes there what ended its calls, and
  ``/rel/fault/too-large`` maps a sparse file there.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy

import orthanc_sdk
from orthanc_sdk import (
    Context,
    ContextClosedError,
    NotReadyError,
    OrthancError,
    Request,
    Response,
    UnknownResourceError,
)

# What the loops keep of their failures: the first few, and a count.
_KEEP_ERRORS = 5
# The property numbers the loops use (plugins own 1024 and above).
FIRST_PROPERTY = 5000


def _context() -> Context:
    return orthanc_sdk.current_context()


class _Tally:
    """Counts, errors and mismatches of one loop."""

    def __init__(self) -> None:
        self.calls = 0
        self.errors: list[str] = []
        self.error_count = 0
        self.mismatches = 0
        self.lock = threading.Lock()

    def error(self, text: str) -> None:
        with self.lock:
            self.error_count += 1
            if len(self.errors) < _KEEP_ERRORS:
                self.errors.append(text)

    def mismatch(self, text: str) -> None:
        with self.lock:
            self.mismatches += 1
        self.error(f"mismatch: {text}")

    def report(self, started: float) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "errors": self.errors,
            "error_count": self.error_count,
            "mismatches": self.mismatches,
            "seconds": round(time.monotonic() - started, 3),
        }


# ---- leak loops -----------------------------------------------------------


def _loop_system(tally: _Tally, count: int, args: dict[str, Any]) -> None:
    context = _context()
    for _ in range(count):
        with context.rest_api_get("/system") as answer:
            if len(answer) == 0:
                tally.mismatch("empty /system")
        tally.calls += 1


def _loop_dicom(tally: _Tally, count: int, args: dict[str, Any]) -> None:
    """``get_dicom_for_instance``; with ``keep``, views outlive the call."""
    context = _context()
    instance, size, keep = args["instance"], args["size"], args["keep"]
    kept: list[Any] = []
    for _ in range(count):
        dicom = context.get_dicom_for_instance(instance)
        tally.calls += 1
        if len(dicom) != size:
            tally.mismatch(f"size {len(dicom)} != {size}")
        if keep:
            # A numpy array and a memoryview keep the Buffer alive; the
            # Buffer itself is dropped at once.
            kept.append(numpy.frombuffer(dicom, dtype=numpy.uint8))
            kept.append(memoryview(dicom)[128:132])
            del dicom
            if kept[-1] != b"DICM":
                tally.mismatch("no DICM magic in the view")
            if len(kept) > 2 * keep:
                kept[1].release()
                del kept[:2]
        else:
            dicom.release()
    for item in kept[1::2]:
        item.release()


_LOOKUPS = (
    ("lookup_patient", "PatientID"),
    ("lookup_study", "StudyInstanceUID"),
    ("lookup_study_with_accession_number", "AccessionNumber"),
    ("lookup_series", "SeriesInstanceUID"),
    ("lookup_instance", "SOPInstanceUID"),
)


def _loop_lookups(tally: _Tally, count: int, args: dict[str, Any]) -> None:
    """Each lookup ``count`` times: hits, and a miss every tenth call."""
    context = _context()
    expected = args["expected"]
    for method, tag in _LOOKUPS:
        value, wanted = args["tags"][tag], expected[method]
        function = getattr(context, method)
        for number in range(count):
            if number % 10 == 9:
                if function("no-such-value-" + str(number)) is not None:
                    tally.mismatch(f"{method} found a missing value")
            else:
                found = function(value)
                if found != wanted:
                    tally.mismatch(f"{method}: {found!r} != {wanted!r}")
            tally.calls += 1


def _loop_properties(tally: _Tally, count: int, args: dict[str, Any]) -> None:
    context = _context()
    for number in range(count):
        prop = FIRST_PROPERTY + number % 8
        value = f"value {number} \u00e9\u4e2d"
        context.set_global_property(prop, value)
        found = context.get_global_property(prop, "<unset>")
        if found != value:
            tally.mismatch(f"property {prop}: {found!r} != {value!r}")
        tally.calls += 2


def _loop_call_headers(
    tally: _Tally, count: int, args: dict[str, Any]
) -> None:
    context = _context()
    uri = f"/instances/{args['instance']}"
    for number in range(count):
        headers = {"x-rel-number": str(number), "accept": "application/json"}
        response = context.call_rest_api("GET", uri, headers=headers)
        with response.body as body:
            if response.status != 200 or body.json()["ID"] != args["instance"]:
                tally.mismatch(f"call {number}: {response.status}")
        tally.calls += 1


def _loop_failing(tally: _Tally, count: int, args: dict[str, Any]) -> None:
    """Unknown resources, bad requests, unknown routes: ``count`` of each."""
    context = _context()
    for number in range(count):
        try:
            context.rest_api_get(f"/instances/missing-{number}")
            tally.mismatch("an unknown instance was found")
        except UnknownResourceError:
            pass
        try:
            context.rest_api_post("/tools/find", b"{not json")
            tally.mismatch("bad JSON was accepted")
        except OrthancError as error:
            if int(error.code) != 8:  # BAD_REQUEST, for JSON that is bad
                tally.mismatch(f"bad JSON answered {error!r}")
        try:
            context.get_dicom_for_instance(f"missing-{number}")
            tally.mismatch("an unknown instance had a file")
        except UnknownResourceError:
            pass
        response = context.call_rest_api("GET", f"/no-such-route/{number}")
        with response.body:
            if response.status != 404:
                tally.mismatch(f"unknown route answered {response.status}")
        tally.calls += 4


_LOOPS: dict[str, Callable[[_Tally, int, dict[str, Any]], None]] = {
    "system": _loop_system,
    "dicom": _loop_dicom,
    "lookups": _loop_lookups,
    "properties": _loop_properties,
    "call_headers": _loop_call_headers,
    "failing": _loop_failing,
}


def _loop(request: Request) -> dict[str, Any]:
    """Run one loop: ``{"loop": name, "count": n, "args": {...}}``."""
    order = json.loads(request.body)
    tally = _Tally()
    started = time.monotonic()
    try:
        _LOOPS[order["loop"]](tally, int(order["count"]), order["args"])
    except Exception as error:
        tally.error(f"loop stopped: {error!r}")
    return tally.report(started)


def _sink(request: Request) -> dict[str, Any]:
    """What a POST brought: its size and SHA-256."""
    return {
        "len": len(request.body),
        "sha256": hashlib.sha256(request.body).hexdigest(),
    }


# ---- concurrency ----------------------------------------------------------


def _echo_headers(request: Request) -> dict[str, Any]:
    return {"headers": request.headers, "url": request.url}


def _worker(
    tally: _Tally, number: int, instance: str, count: int, deadline: float
) -> None:
    context = _context()
    for round_ in range(count):
        if time.monotonic() > deadline:
            tally.error(f"thread {number}: out of time at {round_}")
            return
        try:
            with context.rest_api_get(f"/instances/{instance}") as answer:
                if answer.json()["ID"] != instance:
                    tally.mismatch(f"thread {number}: another instance")
            tag = f"{number}-{round_}"
            response = context.call_rest_api(
                "GET",
                f"/rel/echo-headers/{tag}",
                headers={"x-rel-thread": tag},
                after_plugins=True,
            )
            with response.body as body:
                echo = body.json()
            if (
                response.status != 200
                or echo["headers"].get("x-rel-thread") != tag
                or echo["url"] != f"/rel/echo-headers/{tag}"
            ):
                tally.mismatch(f"thread {number}: {echo!r}")
            with tally.lock:
                tally.calls += 2
        except Exception as error:
            tally.error(f"thread {number}: {error!r}")


def _threads(request: Request) -> dict[str, Any]:
    """``{"instances": [...], "count": n, "timeout": s}``: one thread each.

    Each thread reads its own instance and calls a route with its own
    header ``count`` times, checking that every answer is its own.
    """
    order = json.loads(request.body)
    tally = _Tally()
    started = time.monotonic()
    deadline = started + float(order["timeout"])
    threads = [
        threading.Thread(
            target=_worker,
            args=(tally, number, instance, int(order["count"]), deadline),
            name=f"rel-worker-{number}",
        )
        for number, instance in enumerate(order["instances"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline + 5 - time.monotonic()))
    report = tally.report(started)
    report["alive"] = sum(thread.is_alive() for thread in threads)
    return report


def _nested(request: Request) -> dict[str, Any]:
    """A route that calls the REST API for the instance in its path."""
    context = _context()
    instance = request.groups[0]
    with context.rest_api_get(f"/instances/{instance}") as answer:
        found = answer.json()["ID"]
    with context.rest_api_get("/system") as answer:
        name = answer.json()["Name"]
    return {"instance": found, "name": name}


# ---- faults ---------------------------------------------------------------


class _Unsendable:
    """Nothing a route may answer."""


def _fault(request: Request) -> Any:
    kind = request.groups[0]
    arguments = request.get
    if kind == "raise":
        raise RuntimeError("REL-FAULT-RAISE " + arguments.get("tag", ""))
    if kind == "raise-keyboard":
        raise KeyboardInterrupt("REL-FAULT-KEYBOARD")
    if kind == "raise-exit":
        raise SystemExit("REL-FAULT-EXIT")
    if kind == "unsupported":
        return _Unsendable()
    if kind == "unsupported-set":
        return {1, 2}
    if kind == "bad-status":
        return Response(b"x", status=99)
    if kind == "status-str":
        return Response(b"x", status="200")
    if kind == "header-newline":
        return Response(b"x", headers={"X-Bad": "a\r\nSet-Cookie: x"})
    if kind == "content-type-nul":
        return Response(b"x", content_type="text/plain\0")
    if kind == "huge":
        # Megabytes of a repeated block: the client checks size and hash.
        size = int(arguments["mib"]) * 2**20
        return bytes(range(256)) * (size // 256)
    if kind == "too-large":
        return Response(memoryview(_sparse_map(2**32 + 1)))
    if kind == "sleep":
        time.sleep(float(arguments["seconds"]))
        return {"slept": float(arguments["seconds"])}
    if kind == "spin":
        # Holds the GIL except at the interpreter's switch interval.
        end = time.monotonic() + float(arguments["seconds"])
        spins = 0
        while time.monotonic() < end:
            spins += 1
        return {"spins": spins}
    raise AssertionError(kind)


_maps: dict[int, mmap.mmap] = {}


def _sparse_map(size: int) -> mmap.mmap:
    """A read-only map of a sparse file: address space, no RAM."""
    if size not in _maps:
        folder = _context().configuration["OrthancSdk"]["TestOutput"]
        path = os.path.join(folder, f"sparse-{size}")
        with open(path, "wb") as file:
            file.truncate(size)
        with open(path, "rb") as file:
            _maps[size] = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    return _maps[size]


# ---- bad input from HTTP clients -------------------------------------------


def _echo(request: Request) -> dict[str, Any]:
    body = request.body
    return {
        "method": request.method.name,
        "url": request.url,
        "groups": list(request.groups),
        "get": request.get,
        "headers": request.headers,
        "body_len": len(body),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "nul_bytes": body.count(b"\0"),
    }


def _parse_json(request: Request) -> Any:
    """Parse the body as JSON; say how deep it went, or why it failed."""
    try:
        value = json.loads(request.body)
    except RecursionError:
        return Response({"error": "RecursionError"}, status=400)
    except ValueError as error:
        return Response({"error": type(error).__name__}, status=400)
    depth = 0
    while isinstance(value, list):
        depth += 1
        value = value[0] if value else None
    return {"depth": depth}


# ---- bad input from plugin code --------------------------------------------


def _outcome(call: Callable[[], Any]) -> dict[str, Any]:
    try:
        result = call()
    except (TypeError, ValueError, OrthancError) as error:
        answer = {
            "raised": type(error).__name__,
            # The family a caller catches: OrthancError first (some are
            # ValueErrors too), then TypeError and ValueError (of which
            # UnicodeEncodeError is one).
            "family": next(
                family.__name__
                for family in (OrthancError, TypeError, ValueError)
                if isinstance(error, family)
            ),
            "message": str(error)[:200],
        }
        if isinstance(error, OrthancError):
            answer["code"] = int(error.code)
        return answer
    if isinstance(result, orthanc_sdk.Buffer):
        with result:
            return {"buffer": len(result)}
    if isinstance(result, orthanc_sdk.RestResponse):
        with result.body:
            return {"status": result.status, "buffer": len(result.body)}
    if isinstance(result, str) and len(result) > 100:
        return {"str_len": len(result), "sha256": _sha(result)}
    return {"value": result}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _bad_plugin_input(request: Request) -> dict[str, Any]:
    """Every Context method with bad and extreme input, inside Orthanc."""
    context = _context()
    order = json.loads(request.body)
    huge = "/" + "x" * (int(order["huge_mib"]) * 2**20)
    big = _sparse_map(2**32 + 1)
    methods: dict[str, Callable[[Any], Any]] = {
        "rest_api_get": lambda v: context.rest_api_get(v),
        "rest_api_get_after": lambda v: context.rest_api_get(
            v, after_plugins=True
        ),
        "rest_api_get2": lambda v: context.rest_api_get(v, headers={"a": v}),
        "rest_api_post": lambda v: context.rest_api_post(v, b""),
        "rest_api_put": lambda v: context.rest_api_put(v, b""),
        "rest_api_delete": lambda v: context.rest_api_delete(v),
        "call_rest_api": lambda v: context.call_rest_api("GET", v),
        "call_rest_api_header": lambda v: context.call_rest_api(
            "GET", "/system", headers={"x-a": v}
        ),
        "get_dicom_for_instance": context.get_dicom_for_instance,
        "lookup_patient": context.lookup_patient,
        "lookup_study": context.lookup_study,
        "lookup_study_with_accession_number": (
            context.lookup_study_with_accession_number
        ),
        "lookup_series": context.lookup_series,
        "lookup_instance": context.lookup_instance,
        "get_global_property_default": lambda v: context.get_global_property(
            FIRST_PROPERTY + 100, v
        ),
        "set_global_property": lambda v: context.set_global_property(
            FIRST_PROPERTY + 101, v
        ),
    }
    values: dict[str, Any] = {
        "none": None,
        "int": 7,
        "float": 1.5,
        "list": ["/system"],
        "bytearray": bytearray(b"/system"),
        "nul-str": "/sys\0tem",
        "nul-bytes": b"/sys\0tem",
        "lone-surrogate": "/\ud800",
        "empty": "",
        "non-ascii": "/\u00e9\u4e2d\U0001f600",
        "huge": huge,
    }
    results: dict[str, Any] = {}
    for method, call in methods.items():
        for name, value in values.items():
            results[f"{method}/{name}"] = _outcome(
                lambda c=call, v=value: c(v)
            )
    # A huge value survives the round trip through the database.
    prop = FIRST_PROPERTY + 102
    results["set_global_property/huge-round-trip"] = _outcome(
        lambda: (
            context.set_global_property(prop, huge),
            _sha(context.get_global_property(prop)),
        )[1]
    )
    results["huge-sha256"] = {"value": _sha(huge)}
    results["token"] = _outcome(
        lambda: context.generate_rest_api_authorization_token()[:7]
    )
    results["configuration"] = _outcome(
        lambda: sorted(context.configuration["OrthancSdk"])
    )
    for number in (1023, 1, 0, -1, -(2**31), 2**31, -(2**31) - 1, 2**40):
        results[f"set_global_property/{number}"] = _outcome(
            lambda n=number: context.set_global_property(n, "x")
        )
        results[f"get_global_property/{number}"] = _outcome(
            lambda n=number: context.get_global_property(n, "<unset>")
        )
    for kind in (True, "1024", 1024.0, None):
        results[f"set_global_property/{type(kind).__name__}"] = _outcome(
            lambda k=kind: context.set_global_property(k, "x")
        )
    bodies = {
        "4gib+1": memoryview(big),
        "4gib": memoryview(big)[1:],
        "none": None,
        "int": 3,
        "object": object(),
        "strided": memoryview(b"abcdef")[::2],
    }
    for name, body in bodies.items():
        results[f"rest_api_post/body-{name}"] = _outcome(
            lambda b=body: context.rest_api_post("/tools/find", b)
        )
        results[f"rest_api_put/body-{name}"] = _outcome(
            lambda b=body: context.rest_api_put("/tools/find", b)
        )
        results[f"call_rest_api/body-{name}"] = _outcome(
            lambda b=body: context.call_rest_api("POST", "/tools/find", body=b)
        )
    for body in bodies.values():
        if isinstance(body, memoryview):
            body.release()
    for method in ("PATCH", "", None, 0, 99, True):
        results[f"call_rest_api/method-{method!r}"] = _outcome(
            lambda m=method: context.call_rest_api(m, "/system")
        )
    for headers in ("a: b", b"ab", [("a",)], [1], {"a": None}, {1: "a"}):
        results[f"rest_api_get/headers-{headers!r}"] = _outcome(
            lambda h=headers: context.rest_api_get("/system", headers=h)
        )
    return results


# ---- lifecycle --------------------------------------------------------------

_caller: dict[str, Any] = {"calls": 0, "thread": None}


def _caller_loop(context: Context, path: str) -> None:
    """Call the SDK until Orthanc stops; write what ended the calls."""
    while True:
        try:
            with context.rest_api_get("/system") as answer:
                answer.json()
            context.get_global_property(FIRST_PROPERTY + 200, "")
        except NotReadyError:
            time.sleep(0.01)
            continue
        except ContextClosedError as error:
            ending = f"ContextClosedError after {_caller['calls']}: {error}"
            break
        except BaseException as error:
            ending = f"unexpected after {_caller['calls']}: {error!r}"
            break
        _caller["calls"] += 1
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(ending + "\n")
        stream.flush()
        os.fsync(stream.fileno())


def _caller_start(request: Request) -> dict[str, Any]:
    if _caller["thread"] is None:
        context = _context()
        folder = context.configuration["OrthancSdk"]["TestOutput"]
        thread = threading.Thread(
            target=_caller_loop,
            args=(context, os.path.join(folder, "caller.txt")),
            name="rel-sdk-caller",
        )
        _caller["thread"] = thread
        thread.start()
    return {"calls": _caller["calls"]}


def _slow(request: Request) -> dict[str, Any]:
    """Answer after a while, calling the SDK meanwhile."""
    context = _context()
    end = time.monotonic() + float(request.get.get("seconds", "1"))
    calls = 0
    while time.monotonic() < end:
        with context.rest_api_get("/system") as answer:
            answer.json()
        calls += 1
        time.sleep(0.02)
    return {"calls": calls}


_ANSWERS: dict[str, Callable[[], Any]] = {
    "bytes": lambda: b"\x00bytes\xff",
    "bytearray": lambda: bytearray(b"\x00\x01"),
    "memoryview": lambda: memoryview(b"view"),
    "str": lambda: "\u00e9t\u00e9",
    "json": lambda: {"a": [1, None]},
    "none": lambda: None,
    "buffer": lambda: _context().rest_api_get("/system"),
    "created": lambda: Response(b"made", status=201, headers={"X-A": "b"}),
    "missing": lambda: Response("nothing", status=404),
    "empty-404": lambda: Response(status=404),
    "unauthorized": lambda: Response(
        status=401, headers={"WWW-Authenticate": 'Basic realm="rel"'}
    ),
    "not-allowed": lambda: Response(status=405, headers={"Allow": "GET"}),
    "moved": lambda: Response(status=301, headers={"Location": "/system"}),
    "redirect": lambda: Response(status=307, headers={"Location": "/system"}),
}


def _answer(request: Request) -> Any:
    """Every kind of answer a route may give."""
    return _ANSWERS[request.groups[0]]()


def _property(request: Request) -> dict[str, Any]:
    """GET reads a global property, PUT sets it to the body."""
    context = _context()
    number = int(request.groups[0])
    if request.method.name == "PUT":
        context.set_global_property(number, request.body.decode())
    return {"value": context.get_global_property(number, "<unset>")}


def _rss(request: Request) -> dict[str, Any]:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return {"rss_kib": int(line.split()[1])}
    raise RuntimeError("no VmRSS in /proc/self/status")


def initialize(context: Context) -> None:
    """Register the ``/rel/`` routes."""
    routes = {
        "/rel/loop": _loop,
        "/rel/sink": _sink,
        "/rel/echo-headers/(.*)": _echo_headers,
        "/rel/threads": _threads,
        "/rel/nested/([0-9a-f-]+)": _nested,
        "/rel/fault/([a-z-]+)": _fault,
        "/rel/echo/(.*)": _echo,
        "/rel/parse-json": _parse_json,
        "/rel/bad-plugin-input": _bad_plugin_input,
        "/rel/caller/start": _caller_start,
        "/rel/slow": _slow,
        "/rel/property/([0-9]+)": _property,
        "/rel/answer/([a-z0-9-]+)": _answer,
        "/rel/rss": _rss,
    }
    for path, handler in routes.items():
        context.register_rest_callback(path, handler)
