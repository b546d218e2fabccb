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
    return [_text(array[i]) for i in range(count)]


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


def _request(url: Any, request: Any) -> Request:
    size = request.bodySize
    body = ffi.buffer(request.body, size)[:] if size else b""
    return Request(
        method=HttpMethod(request.method),
        url=_text(url),
        groups=tuple(_strings(request.groups, request.groupsCount)),
        get=dict(
            zip(
                _strings(request.getKeys, request.getCount),
                _strings(request.getValues, request.getCount),
                strict=True,
            )
        ),
        headers={
            key.lower(): value
            for key, value in zip(
                _strings(request.headersKeys, request.headersCount),
                _strings(request.headersValues, request.headersCount),
                strict=True,
            )
        },
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
        return json.dumps(body).encode("utf-8"), "application/json"
    if isinstance(body, (bytes, bytearray, memoryview, Buffer)):
        return body, "application/octet-stream"
    raise TypeError(
        "a route handler must return bytes, str, dict, list, None or"
        f" Response, not {type(body).__name__}"
    )


def _header_value(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be str, not {type(text).__name__}")
    data = text.encode("utf-8")
    if b"\0" in data or b"\r" in data or b"\n" in data:
        raise ValueError(f"{what} must not contain NUL, CR or LF")
    return data


def _answer(context: Context, output: Any, result: Any) -> None:
    """Send a handler's result; everything is checked before the first call."""
    response = result if isinstance(result, Response) else Response(result)
    status = response.status
    if isinstance(status, bool) or not isinstance(status, int):
        raise TypeError("Response.status must be an int")
    if not 100 <= status <= 599:
        raise ValueError(f"Response.status {status} is not an HTTP status")
    body, default_type = _payload(response.body)
    content_type = _header_value(
        response.content_type or default_type, "content_type"
    )
    headers = [
        (_header_value(k, "header name"), _header_value(v, "header value"))
        for k, v in (response.headers or {}).items()
    ]
    # Header names are case-insensitive: "Location" is "location".
    special = {key.lower(): value for key, value in headers}
    data = ffi.from_buffer("char[]", body)
    if len(data) > 2**32 - 1:
        raise ValueError("an answer must be smaller than 4 GiB")
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
            lib.OrthancPluginSendHttpStatus(
                pointer, output, status, data, len(data)
            )
        else:
            lib.OrthancPluginSendHttpStatusCode(pointer, output, status)


def make_rest_callback(
    context: Context, path_regex: str, handler: RestHandler
) -> Any:
    """The C callback that serves ``handler`` for ``path_regex``."""

    def callback(output: Any, url: Any, request: Any) -> int:
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
