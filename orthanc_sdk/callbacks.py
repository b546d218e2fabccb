"""REST routes and on-change handlers written in Python.

Orthanc calls a REST route from its HTTP worker threads, several at once; the
cffi callback takes the GIL for the handler, and every SDK call the handler
makes releases it again, so a handler may call the REST API, including
another Python route (``after_plugins=True``), without deadlocking.

On-change events are queued by the C callback and handled in order on one
Python thread, so that the core, which signals some changes while holding
its own locks, never waits for Python; handlers may use the REST API for any
kind of change, jobs included.  ORTHANC_STOPPED is the exception: the C
callback waits until the handlers have seen it, then lets the plugin host
close the context, before the core goes on stopping.

Nothing raised by a handler reaches Orthanc: the traceback goes to Orthanc's
log, a REST client gets an error status and the next request is served.

Orthanc's HTTP threads have small stacks (100 KiB in Orthanc 1.10), far too
small for Python's recursion limit: ``json.loads`` of a body nested 600 deep
overflowed one and killed Orthanc (SIGSEGV).  So a route's handler runs on a
Python thread with a full-size stack while Orthanc's thread waits for it.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._orthanc_sdk_cffi import ffi, lib
from .buffers import Buffer
from .enums import ChangeType, ErrorCode, HttpMethod, ResourceType
from .errors import OrthancError

if TYPE_CHECKING:
    from .context import Context

__all__ = [
    "ChangeHandler",
    "Request",
    "Response",
    "RestHandler",
]

logger = logging.getLogger(__name__)


def _text(pointer: Any) -> str:
    # URIs, arguments and headers come as Orthanc received them: bytes that
    # are not UTF-8 survive as lone surrogates instead of failing.
    text: str = ffi.string(pointer).decode("utf-8", "surrogateescape")
    return text


def _strings(array: Any, count: int) -> list[str]:
    if not count:
        return []
    string = ffi.string
    # ffi.unpack reads the pointers in one call: twice as fast as indexing.
    return [
        string(pointer).decode("utf-8", "surrogateescape")
        for pointer in ffi.unpack(array, count)
    ]


@dataclass
class Request:
    """An HTTP request to a Python route, as Orthanc passes it."""

    #: GET, POST, PUT or DELETE.
    method: HttpMethod
    #: The URI, without the query string.
    url: str
    #: The groups that the route's regular expression captured.
    groups: tuple[str, ...]
    #: GET arguments; Orthanc does not percent-decode them.
    get: dict[str, str]
    #: Headers, names in lower case.
    headers: dict[str, str]
    #: The body (a copy: Orthanc's memory is gone after the callback).
    body: bytes


@dataclass
class Response:
    """A full answer from a route handler.

    A handler may also return ``bytes``/``str`` (200), ``dict``/``list``
    (200, JSON) or ``None`` (200, empty).  For statuses other than 200,
    Orthanc sends ``body`` only when its option ``HttpDescribeErrors`` is
    true (the default).
    """

    body: Any = b""
    status: int = 200
    content_type: str | None = None
    headers: Mapping[str, str] | None = field(default=None)


RestHandler = Callable[[Request], Any]
ChangeHandler = Callable[[ChangeType, ResourceType, str], Any]


# HttpMethod(value) is slow for an enum; a dict lookup is not.
_METHODS = {int(method): method for method in HttpMethod}


def _request(url: Any, request: Any) -> Request:
    size = request.bodySize
    body = ffi.buffer(request.body, size)[:] if size else b""
    method = _METHODS.get(request.method)
    count = request.getCount
    get = dict(
        zip(
            _strings(request.getKeys, count),
            _strings(request.getValues, count),
            strict=True,
        )
    )
    count = request.headersCount
    return Request(
        # An unknown value raises ValueError, as before.
        method=HttpMethod(request.method) if method is None else method,
        url=_text(url),
        groups=tuple(_strings(request.groups, request.groupsCount)),
        get=get,
        headers=dict(
            zip(
                [key.lower() for key in _strings(request.headersKeys, count)],
                _strings(request.headersValues, count),
                strict=True,
            )
        ),
        body=body,
    )


def _payload(body: Any) -> tuple[Any, str]:
    """(bytes-like, default content type) for what a handler answered."""
    if body is None:
        return b"", "text/plain"
    if isinstance(body, str):
        # Lone surrogates are request bytes that were not UTF-8 (see
        # _text): they go back as those bytes.
        return (
            body.encode("utf-8", "surrogateescape"),
            "text/plain; charset=utf-8",
        )
    if isinstance(body, (dict, list)):
        text = json.dumps(body, allow_nan=False)
        return text.encode("utf-8"), "application/json"
    if isinstance(body, (bytes, bytearray, memoryview, Buffer)):
        return body, "application/octet-stream"
    raise TypeError(
        "a route handler must return bytes, str, dict, list, None or"
        f" Response, not {type(body).__name__}"
    )


def _header_value(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be str, not {type(text).__name__}")
    # As for str bodies: lone surrogates go back as the request's bytes.
    data = text.encode("utf-8", "surrogateescape")
    if b"\0" in data or b"\r" in data or b"\n" in data:
        raise ValueError(f"{what} must not contain NUL, CR or LF")
    return data


# RFC 9110's "token": what a header name may be made of.
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _header_name(text: object) -> bytes:
    data = _header_value(text, "header name")
    if not _TOKEN.fullmatch(data):
        raise ValueError(f"header name {text!r} is not an HTTP token")
    return data


def _answer(context: Context, output: Any, result: Any) -> None:
    """Send a handler's result; everything is checked before the first call."""
    if isinstance(result, Response):
        status = result.status
        if type(status) is not int or status != 200 or result.headers:
            _answer_response(context, output, result)
            return
        # A plain 200: _payload and _header_value check all there is.
        body, default_type = _payload(result.body)
        content_type = _header_value(
            result.content_type or default_type, "content_type"
        )
    else:
        body, default_type = _payload(result)
        # The defaults of _payload are ASCII with no CR, LF or NUL.
        content_type = default_type.encode()
    data = ffi.from_buffer("char[]", body)
    if len(data) > 2**32 - 1:
        raise ValueError("an answer must be smaller than 4 GiB")
    lib.OrthancPluginAnswerBuffer(
        context.pointer, output, data, len(data), content_type
    )


def _answer_response(context: Context, output: Any, result: Any) -> None:
    """Send any :class:`Response`, after all its checks."""
    response = result if isinstance(result, Response) else Response(result)
    status = response.status
    if isinstance(status, bool) or not isinstance(status, int):
        raise TypeError("Response.status must be an int")
    if not 200 <= status <= 599:
        # A 1xx is interim: a client would go on waiting for the answer.
        raise ValueError(
            f"Response.status {status} is not a final HTTP status"
        )
    body, default_type = _payload(response.body)
    content_type = _header_value(
        response.content_type or default_type, "content_type"
    )
    headers = [
        (_header_name(k), _header_value(v, "header value"))
        for k, v in (response.headers or {}).items()
    ]
    # Header names are case-insensitive: "Location" is "location".
    special = {key.lower(): value for key, value in headers}
    for name in (b"content-length", b"transfer-encoding"):
        if name in special:
            # Orthanc frames the answer itself: a second framing header
            # would desynchronise the client.
            raise ValueError(f"Orthanc sets {name.decode()} itself")
    if b"content-type" in special:
        # Orthanc writes the content type too: sent as a header, it would
        # go out twice.
        if response.content_type is not None:
            raise ValueError("give content_type or a Content-Type header")
        content_type = special.pop(b"content-type")
        headers = [h for h in headers if h[0].lower() != b"content-type"]
    data = ffi.from_buffer("char[]", body)
    if len(data) > 2**32 - 1:
        raise ValueError("an answer must be smaller than 4 GiB")
    if status in (204, 304) and len(data):
        # Sent anyway, the body would be read as the start of the next
        # answer on the same connection.
        raise ValueError(f"a {status} Response cannot have a body")
    if status == 301 and (len(data) or b"location" not in special):
        # OrthancPluginRedirect, the SDK's only way to send 301, takes a
        # location and no body.
        raise ValueError("a 301 Response needs a Location header, no body")
    pointer = context.pointer

    if status == 200:
        for key, value in headers:
            lib.OrthancPluginSetHttpHeader(pointer, output, key, value)
        lib.OrthancPluginAnswerBuffer(
            pointer, output, data, len(data), content_type
        )
    elif status == 401:
        # The SDK builds the WWW-Authenticate header from a realm alone.
        challenge = special.get(b"www-authenticate", b"")
        realm = re.search(rb'realm="([^"]*)"', challenge)
        lib.OrthancPluginSendUnauthorized(
            pointer, output, realm.group(1) if realm else b"Orthanc"
        )
    elif status == 405:
        allowed = special.get(b"allow", b"")
        lib.OrthancPluginSendMethodNotAllowed(pointer, output, allowed)
    elif status == 301:
        lib.OrthancPluginRedirect(pointer, output, special[b"location"])
    else:
        # Other redirections (302, 303, 307, 308) keep their status: the
        # Location header goes with the others.
        for key, value in headers:
            lib.OrthancPluginSetHttpHeader(pointer, output, key, value)
        if len(data):
            # SendHttpStatus takes no content type: a JSON 201 would go
            # out without one.
            lib.OrthancPluginSetHttpHeader(
                pointer, output, b"Content-Type", content_type
            )
            code = lib.OrthancSdkSendHttpStatus(
                pointer, output, status, data, len(data)
            )
        else:
            code = lib.OrthancSdkSendHttpStatusCode(pointer, output, status)
        if code != ErrorCode.SUCCESS:
            # Nothing was sent: failing the route makes Orthanc answer 500
            # rather than close the connection without a word.
            raise ValueError(
                f"Orthanc {context.orthanc_version} cannot send the HTTP"
                f" status {status} (it answered code {code})"
            )


# The stack of the threads that run route handlers: what the main thread
# of a process gets by default on Linux.
_HANDLER_STACK_SIZE = 8 * 2**20
# Idle handler threads kept for the next requests; more end when done.
_MAX_IDLE_WORKERS = 32


class _Worker:
    """A daemon thread with a full-size stack that runs one job at a time."""

    def __init__(self) -> None:
        self.job: Callable[[], int] | None = None
        self.result = 0
        # Both threads keep it alive: cffi frees it with the last of them.
        self.handoff = ffi.new("OrthancSdkHandoff *")
        if lib.OrthancSdkHandoffInit(self.handoff) != 0:
            raise OSError("sem_init failed for a route handler thread")
        thread = threading.Thread(
            target=self._run, name="orthanc_sdk route", daemon=True
        )
        # threading.stack_size is process-wide: set it for this thread
        # only, under a lock so that workers started at once all get it.
        with _workers_lock:
            previous = threading.stack_size(_HANDLER_STACK_SIZE)
            try:
                thread.start()
            finally:
                threading.stack_size(previous)
        # Its native id lets the caller move it to the caller's CPU.
        lib.OrthancSdkHandoffSetWorker(self.handoff, thread.native_id or 0)

    def call(self, job: Callable[[], int]) -> int:
        """Run ``job`` on this worker and wait for its result."""
        self.job = job
        lib.OrthancSdkHandoffCall(self.handoff)
        return self.result

    def stop(self) -> None:
        """End the thread once it is waiting; do not wait for it."""
        self.job = None
        lib.OrthancSdkHandoffStart(self.handoff)

    def _run(self) -> None:
        _on_worker.active = True
        handoff = self.handoff
        lib.OrthancSdkHandoffWait(handoff)
        while True:
            job, self.job = self.job, None
            if job is None:
                return
            try:
                result = job()
            except BaseException:
                # The job catches everything itself; this only keeps
                # Orthanc's thread from waiting forever if that fails.
                result = ErrorCode.PLUGIN
            job = None
            self.result = result
            lib.OrthancSdkHandoffReturn(handoff)


_workers_lock = threading.Lock()
_idle_workers: list[_Worker] = []
_on_worker = threading.local()


def _run_on_worker(job: Callable[[], int]) -> int:
    """Run ``job`` on a thread with a full-size stack; wait for its result.

    Already on such a thread (a route reached from a route through
    ``after_plugins``), the job runs in place.  There is no limit on the
    number of workers: a handler may wait for another route's handler.
    """
    if getattr(_on_worker, "active", False):
        return job()
    with _workers_lock:
        worker = _idle_workers.pop() if _idle_workers else None
    if worker is None:
        worker = _Worker()
    result = worker.call(job)
    with _workers_lock:
        if len(_idle_workers) < _MAX_IDLE_WORKERS:
            _idle_workers.append(worker)
            worker = None
    if worker is not None:
        worker.stop()
    return result


def make_rest_callback(
    context: Context, path_regex: str, handler: RestHandler
) -> Any:
    """The C callback that serves ``handler`` for ``path_regex``."""

    def serve(output: Any, url: Any, request: Any) -> int:
        try:
            result = handler(_request(url, request))
            _answer(context, output, result)
        except OrthancError as error:
            # Orthanc turns the code into its HTTP status (404 for an
            # unknown resource) and logs it.
            logger.info("route %s: %s", path_regex, error)
            return int(error.code) if int(error.code) else ErrorCode.PLUGIN
        except BaseException:
            logger.exception("route %s failed", path_regex)
            return ErrorCode.PLUGIN
        return ErrorCode.SUCCESS

    def callback(output: Any, url: Any, request: Any) -> int:
        # Orthanc's pointers stay valid: its thread waits for the job.
        return _run_on_worker(lambda: serve(output, url, request))

    return ffi.callback(
        "OrthancPluginRestCallback", callback, error=ErrorCode.PLUGIN
    )


class ChangeDispatcher:
    """Queues on-change events and runs the handlers on one thread."""

    _STOP = object()

    def __init__(self) -> None:
        self.handlers: list[ChangeHandler] = []
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._run, name="orthanc_sdk on-change", daemon=True
        )
        self._thread.start()

    def put(self, change: int, resource: int, resource_id: str) -> None:
        """Queue one event (called from the C callback)."""
        self._queue.put((change, resource, resource_id))

    def stop(self, timeout: float) -> bool:
        """Run what is queued, then end the thread; False on timeout."""
        self._queue.put(self._STOP)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is self._STOP:
                return
            change, resource, resource_id = item
            try:
                change = ChangeType(change)
            except ValueError:
                pass  # a change type newer than this build: pass the int
            try:
                resource = ResourceType(resource)
            except ValueError:
                pass
            for handler in list(self.handlers):
                try:
                    handler(change, resource, resource_id)
                except BaseException:
                    logger.exception(
                        "on-change handler %r failed on %r", handler, change
                    )


# The one C on-change callback of the process; Orthanc's on-change
# callbacks carry no user data, and a process has one plugin context.
_dispatcher: ChangeDispatcher | None = None

#: Called by the C callback when ORTHANC_STOPPED arrives, after the queued
#: events were handled; the plugin host sets it (see _host.py).
on_orthanc_stopped: Callable[[], None] | None = None

# How long ORTHANC_STOPPED waits for the handlers of the events before it.
_STOP_TIMEOUT = 10.0


@ffi.def_extern(error=ErrorCode.SUCCESS)
def _orthanc_sdk_on_change(
    change: int, resource: int, resource_id: Any
) -> int:
    dispatcher = _dispatcher
    if dispatcher is not None:
        text = "" if resource_id == ffi.NULL else _text(resource_id)
        dispatcher.put(change, resource, text)
    if change == ChangeType.ORTHANC_STOPPED:
        # The core tears its database down once this callback returns:
        # what uses the SDK must stop here, as C++ plugins stop their
        # threads on OrthancStopped.  SDK calls made during the tear-down
        # fail, and some crash Orthanc ("terminate called after throwing
        # an instance of 'std::bad_cast'").
        try:
            if not stop_changes(_STOP_TIMEOUT):
                logger.warning("on-change handlers still running at stop")
            hook = on_orthanc_stopped
            if hook is not None:
                hook()
        except BaseException:
            logger.exception("stopping the plugin on ORTHANC_STOPPED failed")
    return ErrorCode.SUCCESS


def change_dispatcher(context: Context) -> ChangeDispatcher:
    """The process's dispatcher, registered with Orthanc on first use."""
    global _dispatcher
    if _dispatcher is None:
        _dispatcher = ChangeDispatcher()
        lib.OrthancPluginRegisterOnChangeCallback(
            context.pointer, lib._orthanc_sdk_on_change
        )
    return _dispatcher


def stop_changes(timeout: float) -> bool:
    """Drain and stop the dispatcher, if any (plugin finalization)."""
    global _dispatcher
    dispatcher, _dispatcher = _dispatcher, None
    return dispatcher is None or dispatcher.stop(timeout)
