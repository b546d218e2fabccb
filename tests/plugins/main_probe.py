# SPDX-License-Identifier: GPL-3.0-or-later
"""Plugin script for the integration tests (``tests/test_orthanc_*.py``).

The shim loads it in a real Orthanc.  It registers routes under
``/probe/`` through which the tests drive the binding from inside Orthanc
and read back what it saw, and on-change handlers whose events the tests
read through ``/probe/changes``.  Keys of the ``"OrthancSdk"`` section:

* ``TokenFile``: write the REST API token there (mode 0600) at start-up;
* ``TestOutput``: a folder the tests own, the working directory of the
  subprocess that ``/probe/runtime`` runs.

The module is also imported by the multiprocessing children that
``/probe/runtime`` spawns, outside Orthanc: importing it must do nothing.
"""

from __future__ import annotations

import _ctypes
import _decimal
import base64
import hashlib
import json
import logging
import multiprocessing
import os
import subprocess
import sys
import threading
from typing import Any

import numpy

import orthanc_sdk
from orthanc_sdk import (
    BadRequestError,
    ChangeType,
    Context,
    ErrorCode,
    OrthancError,
    Request,
    ResourceType,
    Response,
    UnknownResourceError,
    ffi,
)
from orthanc_sdk import _orthanc_sdk_cffi as cffi_module

logger = logging.getLogger("main_probe")


def _numpy_core() -> Any:
    # numpy._core in numpy 2, numpy.core before.
    for name, module in sys.modules.items():
        if name.startswith("numpy") and name.endswith("._multiarray_umath"):
            return module
    raise ImportError("numpy's _multiarray_umath is not loaded")


# C extension modules imported when the script is loaded.
LOADED_AT_IMPORT = {
    module.__name__: module.__file__
    for module in (_ctypes, _decimal, _numpy_core(), cffi_module)
}

_events: list[list[Any]] = []
_change_failures: list[str] = []
_change_calls = 0
_raise_next_change = threading.Event()
_lock = threading.Lock()

_JOB_CHANGES = (
    ChangeType.JOB_SUBMITTED,
    ChangeType.JOB_SUCCESS,
    ChangeType.JOB_FAILURE,
)
_PLURAL = {
    ResourceType.PATIENT: "patients",
    ResourceType.STUDY: "studies",
    ResourceType.SERIES: "series",
    ResourceType.INSTANCE: "instances",
}


def square(number: int) -> int:
    """Run in a multiprocessing child (spawn) by ``/probe/runtime``."""
    return number * number


def _name(value: Any) -> Any:
    return getattr(value, "name", value)


# ---- on-change handlers ---------------------------------------------------


def _record(change: Any, resource: Any, resource_id: str) -> None:
    with _lock:
        _events.append([_name(change), _name(resource), resource_id, 0])


def _call_rest_api(change: Any, resource: Any, resource_id: str) -> None:
    """Use the REST API for every kind of change, jobs included."""
    global _change_calls
    context = orthanc_sdk.current_context()
    try:
        context.rest_api_get("/system").release()
        if change in _JOB_CHANGES:
            context.rest_api_get(f"/jobs/{resource_id}").release()
        elif resource in _PLURAL and resource_id:
            # A DELETED resource, or one already deleted again, is gone.
            try:
                uri = f"/{_PLURAL[resource]}/{resource_id}"
                context.rest_api_get(uri).release()
            except UnknownResourceError:
                pass
        with _lock:
            _change_calls += 1
    except Exception as error:
        with _lock:
            _change_failures.append(f"{_name(change)}: {error!r}")


def _raise_when_armed(change: Any, resource: Any, resource_id: str) -> None:
    if _raise_next_change.is_set():
        _raise_next_change.clear()
        raise RuntimeError(f"PROBE-CHANGE-RAISE {_name(change)} {resource_id}")


def _record_after(change: Any, resource: Any, resource_id: str) -> None:
    # Registered after the raising handler: it must still run.
    with _lock:
        for event in reversed(_events):
            if event[:3] == [_name(change), _name(resource), resource_id]:
                event[3] += 1
                break


# ---- routes ---------------------------------------------------------------


def _summary(data: Any, with_body: bool) -> dict[str, Any]:
    with memoryview(data) as view:
        summary = {
            "ok": True,
            "type": type(data).__name__,
            "len": view.nbytes,
            "sha256": hashlib.sha256(view).hexdigest(),
        }
        if with_body:
            summary["body"] = base64.b64encode(view).decode()
    return summary


def _one_call(context: Context, call: dict[str, Any]) -> dict[str, Any]:
    function = call["fn"]
    uri = call["uri"]
    after = call.get("after_plugins", False)
    body: Any = call.get("body")
    if "body_b64" in call:
        body = base64.b64decode(call["body_b64"])
    try:
        if function == "get":
            answer = context.rest_api_get(
                uri, headers=call.get("headers"), after_plugins=after
            )
        elif function == "post":
            answer = context.rest_api_post(uri, body, after_plugins=after)
        elif function == "put":
            answer = context.rest_api_put(uri, body, after_plugins=after)
        elif function == "delete":
            result = context.rest_api_delete(uri, after_plugins=after)
            return {"ok": True, "result": repr(result)}
        else:
            response = context.call_rest_api(
                call["method"],
                uri,
                body=body,
                headers=call.get("headers"),
                after_plugins=after,
            )
            with response.body as answer:
                summary = _summary(answer, call.get("want_body", False))
            summary["status"] = response.status
            summary["headers"] = response.headers
            return summary
    except OrthancError as error:
        return {
            "ok": False,
            "error": type(error).__name__,
            "code": int(error.code),
        }
    with answer:
        return _summary(answer, call.get("want_body", False))


def _calls(request: Request) -> list[dict[str, Any]]:
    """Run a list of REST API calls through the binding."""
    context = orthanc_sdk.current_context()
    return [_one_call(context, call) for call in json.loads(request.body)]


def _lookups(request: Request) -> list[Any]:
    """Run ``[[method, value], ...]`` lookups through the binding."""
    context = orthanc_sdk.current_context()
    answers = []
    for method, value in json.loads(request.body):
        try:
            answers.append(getattr(context, method)(value))
        except OrthancError as error:
            answers.append({"error": type(error).__name__})
    return answers


def _dicom_hashes(request: Request) -> dict[str, Any]:
    """SHA-256 of each instance's file, read in place (no copy)."""
    context = orthanc_sdk.current_context()
    answers = {}
    for instance_id in json.loads(request.body):
        with context.get_dicom_for_instance(instance_id) as dicom:
            with memoryview(dicom) as view:
                digest = hashlib.sha256(view).hexdigest()
                # The view is Orthanc's memory itself, not a copy of it.
                pointer = ffi.from_buffer(view)
                zero_copy = int(ffi.cast("uintptr_t", pointer)) == (
                    dicom.address
                )
                del pointer
            answers[instance_id] = {
                "sha256": digest,
                "size": len(dicom),
                "zero_copy": zero_copy,
                "type": type(dicom).__name__,
            }
    return answers


def _echo(request: Request) -> dict[str, Any]:
    return {
        "method": request.method.name,
        "url": request.url,
        "groups": list(request.groups),
        "get": request.get,
        "headers": request.headers,
        "body_len": len(request.body),
        "body_sha256": hashlib.sha256(request.body).hexdigest(),
    }


def _echo_url(request: Request) -> str:
    # A str answer with the URL's non-UTF-8 bytes in it (lone surrogates).
    return request.url


_ANSWERS = {
    "bytes": lambda: b"\x00raw\xff\x00",
    "str": lambda: "h\u00e9llo \u2603",
    "dict": lambda: {"a": 1, "b": [True, None]},
    "list": lambda: [1, "two", {"three": 3}],
    "none": lambda: None,
    "bytearray": lambda: bytearray(b"\x01\x02"),
    "created": lambda: Response(
        {"made": True}, status=201, headers={"X-Probe": "created"}
    ),
    "missing": lambda: Response("nothing here", status=404),
    "empty-404": lambda: Response(status=404),
    "custom": lambda: Response(
        b"<probe/>",
        content_type="application/xml",
        headers={"X-Probe": "custom"},
    ),
    "redirect": lambda: Response(
        status=307, headers={"Location": "/probe/answer/str"}
    ),
    "moved": lambda: Response(
        status=301, headers={"location": "/probe/answer/dict"}
    ),
    "unauthorized": lambda: Response(status=401),
    "unauthorized-realm": lambda: Response(
        status=401, headers={"WWW-Authenticate": 'Basic realm="probe"'}
    ),
    "not-allowed": lambda: Response(status=405, headers={"Allow": "GET"}),
    "buffer": lambda: orthanc_sdk.current_context().rest_api_get("/system"),
    # Statuses that Orthanc has no name for.
    "teapot": lambda: Response("short and stout", status=418),
    "teapot-empty": lambda: Response(status=418),
    # Statuses that cannot carry a body, or cannot end an exchange.
    "no-content": lambda: Response(status=204),
    "no-content-body": lambda: Response("not allowed", status=204),
    "not-modified-body": lambda: Response("not allowed", status=304),
    "continue": lambda: Response(status=100),
    # Headers that Orthanc writes itself.
    "content-type-header": lambda: Response(
        b"<probe/>", headers={"Content-Type": "application/xml"}
    ),
    "content-length-header": lambda: Response(
        b"four", headers={"Content-Length": "100"}
    ),
    "transfer-encoding-header": lambda: Response(
        b"four", status=404, headers={"Transfer-Encoding": "chunked"}
    ),
    # Header names that are not HTTP tokens.
    "colon-header-name": lambda: Response(b"x", headers={"X-A: b": "c"}),
    "empty-header-name": lambda: Response(b"x", headers={"": "c"}),
    "nan": lambda: {"not JSON": float("nan")},
    # Request bytes that were not UTF-8 (lone surrogates), sent back.
    "surrogate-header": lambda: Response(
        b"x", headers={"X-Bytes": "\udcff\udcfe"}
    ),
}


def _answer(request: Request) -> Any:
    return _ANSWERS[request.groups[0]]()


def _raise(request: Request) -> Any:
    kind = request.groups[0]
    if kind == "exception":
        raise RuntimeError("PROBE-UNCAUGHT " + request.get.get("tag", ""))
    if kind == "unknown":
        raise UnknownResourceError(ErrorCode.UNKNOWN_RESOURCE)
    if kind == "bad-request":
        raise BadRequestError(ErrorCode.BAD_REQUEST)
    if kind == "core-unknown":
        # Uncaught, as the core raised it.
        return orthanc_sdk.current_context().rest_api_get("/instances/none")
    raise AssertionError(kind)


def _property(request: Request) -> Any:
    context = orthanc_sdk.current_context()
    number = int(request.groups[0])
    try:
        if request.method.name == "PUT":
            context.set_global_property(number, request.body.decode())
            return {"set": number}
        return {"value": context.get_global_property(number, "<unset>")}
    except (ValueError, OrthancError) as error:
        return {"error": type(error).__name__, "message": str(error)}


def _module_file(name: str) -> str:
    __import__(name)
    return sys.modules[name].__file__ or ""


def _runtime(request: Request) -> dict[str, Any]:
    """The interpreter as seen from a REST callback."""
    import ctypes
    from decimal import Decimal

    in_callback = {
        "numpy": _numpy_core().__file__,
    }
    in_callback |= {
        name: _module_file(name)
        for name in (
            "_ctypes",
            "_decimal",
            "orthanc_sdk._orthanc_sdk_cffi",
            "_sqlite3",
            "_ssl",
        )
    }
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, orthanc_sdk.server; print(sys.prefix)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        # The tests start Orthanc from the source tree, whose orthanc_sdk
        # (without compiled modules) would shadow the installed one for
        # "python -c", which puts the working directory first on sys.path.
        cwd=orthanc_sdk.current_context().configuration["OrthancSdk"][
            "TestOutput"
        ],
    )
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        squares = pool.map(square, range(6))
    return {
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "loaded_at_import": LOADED_AT_IMPORT,
        "in_callback": in_callback,
        "numpy_sum": int(numpy.arange(10).sum()),
        "decimal": str(Decimal("0.1") + Decimal("0.2")),
        "pointer_size": ctypes.sizeof(ctypes.c_void_p),
        "child": [child.returncode, child.stdout.strip(), child.stderr],
        "squares": squares,
    }


def _log(request: Request) -> None:
    order = json.loads(request.body)
    logging.getLogger(order.get("logger", "main_probe")).log(
        order["level"], order["message"]
    )


def _print(request: Request) -> None:
    print(request.body.decode())


def _config(request: Request) -> Any:
    configuration = orthanc_sdk.current_context().configuration
    return {
        "type": type(configuration).__name__,
        "configuration": configuration,
    }


def _leaf(request: Request) -> dict[str, Any]:
    context = orthanc_sdk.current_context()
    with context.rest_api_get("/statistics") as answer:
        statistics = answer.json()
    return {
        "leaf": request.groups[0],
        "instances": statistics["CountInstances"],
    }


def _fanout(request: Request) -> dict[str, Any]:
    context = orthanc_sdk.current_context()
    number = request.groups[0]
    with context.rest_api_get("/system") as answer:
        name = answer.json()["Name"]
    with context.rest_api_get(
        f"/probe/leaf/{number}", after_plugins=True
    ) as answer:
        leaf = answer.json()
    response = context.call_rest_api(
        "GET", f"/probe/leaf/{number}", after_plugins=True
    )
    with response.body as answer:
        called = answer.json()
    return {
        "number": number,
        "name": name,
        "leaf": leaf,
        "called": called,
        "status": response.status,
    }


def _changes(request: Request) -> dict[str, Any]:
    with _lock:
        return {
            "events": list(_events),
            "failures": list(_change_failures),
            "calls": _change_calls,
        }


def _arm_raise(request: Request) -> None:
    _raise_next_change.set()


def _write_token(context: Context, path: str) -> None:
    token = context.generate_rest_api_authorization_token()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(token)


def initialize(context: Context) -> None:
    """Register the routes and the on-change handlers."""
    section = context.configuration["OrthancSdk"]
    if "TokenFile" in section:
        _write_token(context, section["TokenFile"])

    routes = {
        "/probe/call": _calls,
        "/probe/lookups": _lookups,
        "/probe/dicom-hashes": _dicom_hashes,
        "/probe/echo/([^/]*)/(.*)": _echo,
        "/probe/echo-url/.*": _echo_url,
        "/probe/answer/([a-z0-9-]+)": _answer,
        "/probe/raise/([a-z-]+)": _raise,
        "/probe/property/(-?[0-9]+)": _property,
        "/probe/runtime": _runtime,
        "/probe/log": _log,
        "/probe/print": _print,
        "/probe/config": _config,
        "/probe/leaf/([0-9]+)": _leaf,
        "/probe/fanout/([0-9]+)": _fanout,
        "/probe/changes": _changes,
        "/probe/arm-raise": _arm_raise,
    }
    for path, handler in routes.items():
        context.register_rest_callback(path, handler)
    # Under Orthanc's global plugin lock: the same fan-out, nested.
    context.register_rest_callback(
        "/probe/locked-fanout/([0-9]+)", _fanout, lock=True
    )

    for handler in (
        _record,
        _call_rest_api,
        _raise_when_armed,
        _record_after,
    ):
        context.register_on_change_callback(handler)

    # Goes to Orthanc's stdout, that is its log file in the tests.
    print("PROBE-PRINT-AT-INITIALIZE", os.getpid())
    logger.warning("main_probe ready: %d routes", len(routes))


def finalize() -> None:
    """Runs on ORTHANC_STOPPED, while the REST API still answers."""
    with orthanc_sdk.current_context().rest_api_get("/system") as answer:
        name = answer.json()["Name"]
    logger.warning("main_probe finalize: /system answered %s", name)
