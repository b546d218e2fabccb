"""``Context``: the SDK's "Orthanc" group, in Python.

Each method wraps one SDK function (named in its docstring) and departs from
C in these ways only:

* strings go in as ``str`` (UTF-8) or ``bytes`` and come out as ``str``; every
  string and buffer that Orthanc returns is freed through the context;
* a failure raises :class:`~orthanc_sdk.errors.OrthancError` (or a subclass)
  instead of returning a code; lookups answer ``None`` for "not found";
* bad Python input raises ``TypeError`` or ``ValueError`` before any C call;
* answers are :class:`~orthanc_sdk.buffers.Buffer` objects, read without a
  copy.

Orthanc runs these services concurrently and the GIL is released around
every SDK call, so every call allocates its own parameters: nothing mutable
is shared.  The hot calls (``rest_api_get`` without headers,
``get_dicom_for_instance``, the lookups, the global properties) are made in
C by the context's :class:`~orthanc_sdk._memory.CallGuard`, which also
counts the calls in flight; the others go through cffi (``lib``).  Both
raise the same exceptions, through the helpers of this module.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._memory import CallGuard, _setup
from ._orthanc_sdk_cffi import ffi, lib
from .buffers import Buffer
from .callbacks import (
    ChangeHandler,
    RestHandler,
    change_dispatcher,
    make_rest_callback,
)
from .enums import ErrorCode, HttpMethod
from .errors import ContextClosedError, OrthancError, check

__all__ = ["Body", "Context", "Headers", "RestResponse"]

#: What a request body may be: any contiguous bytes-like object (sent as is,
#: not copied), ``str`` (UTF-8) or a ``dict``/``list`` (sent as JSON).
#: Python 3.11 has no type for "supports the buffer protocol", hence Any.
Body = Any
#: Request headers: a mapping, or an iterable of (name, value) pairs.
Headers = Mapping[str, str] | Iterable[tuple[str, str]]

# The SDK carries every size as uint32_t.
MAX_BODY_SIZE = 2**32 - 1
# Global properties below this are Orthanc's own: the core refuses to set
# them, answering the misleading UnknownPluginService.
FIRST_PLUGIN_PROPERTY = 1024
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


@dataclass
class RestResponse:
    """What :meth:`Context.call_rest_api` answers."""

    #: The HTTP status the core reported.
    status: int
    #: Answer headers, names in lower case as Orthanc gives them.
    headers: dict[str, str] = field(default_factory=dict)
    #: The answer body (empty when the core sent none).
    body: Buffer = field(default_factory=Buffer)


def _encode(value: object, what: str) -> bytes:
    """A C string argument: ``str`` (UTF-8) or ``bytes``, no NUL inside."""
    if isinstance(value, str):
        data = value.encode("utf-8", "surrogateescape")
    elif isinstance(value, bytes):
        data = value
    else:
        raise TypeError(
            f"{what} must be str or bytes, not {type(value).__name__}"
        )
    if b"\0" in data:
        raise ValueError(f"{what} must not contain a NUL character")
    return data


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _body(body: object) -> tuple[Any, int]:
    """(pointer, size) for a request body, without copying bytes-likes."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif isinstance(body, (dict, list)):
        body = json.dumps(body, allow_nan=False).encode("utf-8")
    elif body is None:
        raise TypeError("body must be bytes-like, str, dict or list, not None")
    try:
        pointer = ffi.from_buffer("char[]", body)
    except (TypeError, BufferError):
        # BufferError: "memoryview: underlying buffer is not C-contiguous".
        raise TypeError(
            "body must be a contiguous bytes-like object, str, dict or list,"
            f" not {type(body).__name__}"
        ) from None
    size = len(pointer)
    if size > MAX_BODY_SIZE:
        raise ValueError(
            f"body of {size} bytes is too large: the SDK carries sizes as"
            " uint32, so a body must be smaller than 4 GiB"
        )
    return pointer, size


def _headers(headers: Headers) -> tuple[int, Any, Any, list[Any]]:
    """(count, keys, values, keepalive) for the SDK's header arrays."""
    if isinstance(headers, (str, bytes)) or headers is None:
        raise TypeError("headers must be a mapping or (name, value) pairs")
    items = headers.items() if isinstance(headers, Mapping) else headers
    keys, values = [], []
    for item in items:
        try:
            if isinstance(item, (str, bytes)):
                raise TypeError  # "ab" would unpack as ("a", "b")
            name, value = item
        except (TypeError, ValueError):
            raise TypeError(
                "headers must be a mapping or (name, value) pairs"
            ) from None
        keys.append(ffi.new("char[]", _encode(name, "header name")))
        values.append(ffi.new("char[]", _encode(value, "header value")))
    return (
        len(keys),
        ffi.new("const char *[]", keys),
        ffi.new("const char *[]", values),
        keys + values,
    )


def _property(property: object) -> int:
    if isinstance(property, bool) or not isinstance(property, int):
        raise TypeError(
            f"property must be an int, not {type(property).__name__}"
        )
    if not INT32_MIN <= property <= INT32_MAX:
        raise ValueError(f"property {property} is outside the int32 range")
    return property


def _plugin_property(property: object) -> int:
    number = _property(property)
    if number < FIRST_PLUGIN_PROPERTY:
        raise ValueError(
            f"global property {number} is reserved: Orthanc keeps"
            f" properties below {FIRST_PLUGIN_PROPERTY} for itself;"
            " plugins use 1024 and above"
        )
    return number


def _fail(pointer: Any, code: int, function: str, detail: bytes) -> None:
    """Raise for an error code that the C path got (it is never success)."""
    check(code, function, _decode(detail), context=pointer)


# What the C path answers and raises with: Buffers, and the exceptions and
# messages of the helpers above, which it calls only for input that its
# fast paths do not take (or to raise) and for error codes.
_setup(Buffer, ContextClosedError, _fail, _encode, _property, _plugin_property)


def _method(method: object) -> HttpMethod:
    if isinstance(method, bool) or not isinstance(method, (str, int)):
        raise TypeError(
            "method must be an HttpMethod or its name, not"
            f" {type(method).__name__}"
        )
    if isinstance(method, str):
        try:
            return HttpMethod[method.upper()]
        except KeyError:
            pass
    else:
        try:
            return HttpMethod(method)
        except ValueError:
            pass
    raise ValueError(
        f"method must be one of GET, POST, PUT, DELETE, not {method!r}"
    )


def _sdk_call(function: Callable[..., Any]) -> Callable[..., Any]:
    """Run a method inside the context's call guard."""

    @functools.wraps(function)
    def guarded(self: Context, *args: Any, **kwargs: Any) -> Any:
        self._guard.enter()
        try:
            return function(self, *args, **kwargs)
        finally:
            self._guard.leave()

    return guarded


def _c_call(function: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a method that the call guard makes in C; the same function.

    Typed as :func:`_sdk_call`, so that type checkers see these methods as
    before they moved to C.  (A precise ``Buffer`` would, for one, make
    ``numpy.frombuffer(buffer)`` fail under mypy on Python 3.11, whose
    numpy stubs list the buffer types they take.)
    """
    return function


class Context:
    """An ``OrthancPluginContext *``, with the SDK's "Orthanc" group.

    Args:
        pointer: the ``OrthancPluginContext *`` that Orthanc gave the plugin,
            as a cffi pointer or as its integer address.

    Raises:
        TypeError: ``pointer`` is neither.
        ValueError: ``pointer`` is NULL.
    """

    #: The Orthanc version the core reports, e.g. ``"1.10.1"``.
    orthanc_version: str

    def __init__(self, pointer: Any) -> None:
        if isinstance(pointer, bool):
            raise TypeError("pointer must be a cffi pointer or an int")
        if isinstance(pointer, int):
            pointer = ffi.cast("OrthancPluginContext *", pointer)
        elif not (
            isinstance(pointer, ffi.CData)
            and ffi.typeof(pointer) is ffi.typeof("OrthancPluginContext *")
        ):
            raise TypeError(
                "pointer must be an 'OrthancPluginContext *' or an int,"
                f" not {type(pointer).__name__}"
            )
        if pointer == ffi.NULL:
            raise ValueError("the OrthancPluginContext pointer is NULL")

        self._pointer = pointer
        # Counts the calls in flight (closing waits for them) and makes
        # the hot ones in C.
        self._guard = CallGuard(pointer, int(ffi.cast("uintptr_t", pointer)))
        self.orthanc_version = ffi.string(pointer.orthancVersion).decode()
        self._configuration: dict[str, Any] | None = None
        # What C may still call: the registered REST callbacks.
        self._keepalive: list[Any] = []

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return f"<orthanc_sdk.Context Orthanc {self.orthanc_version}{state}>"

    @property
    def pointer(self) -> Any:
        """The ``OrthancPluginContext *``, for the C tier (``lib``)."""
        return self._pointer

    @property
    def closed(self) -> bool:
        """True once Orthanc is stopping: SDK calls raise."""
        return self._guard.closed

    def close(self, timeout: float = 5.0, *, detach: bool = False) -> bool:
        """Refuse further SDK calls; wait up to ``timeout`` s for running ones.

        The plugin host closes the context when Orthanc signals that it is
        stopping: calls then raise
        :class:`~orthanc_sdk.errors.ContextClosedError`, while :meth:`log`
        and the freeing of Buffers still reach the core.  With ``detach``
        (the host's last step, when Orthanc finalizes the plugin) nothing
        reaches the core any more: Buffers alive then are left to the
        process's exit.  Returns False when calls were still running at the
        timeout.  ``timeout=None`` waits for ever; the wait is not cut short
        by a signal (KeyboardInterrupt), only by the timeout.

        Raises:
            ValueError: ``timeout`` is NaN.
        """
        return self._guard.close(timeout, detach)

    # ---- memory ---------------------------------------------------------

    def _take(self, buffer: Any) -> Buffer:
        """A Buffer owning a filled ``OrthancPluginMemoryBuffer *``.

        The struct is copied into the Buffer, which frees the memory
        through the call guard (not once the context is detached).
        """
        return self._guard.take(int(ffi.cast("uintptr_t", buffer)))

    def _discard(self, buffer: Any) -> None:
        """Free a buffer that the core filled before answering an error.

        Once detached (a call that outlived the host's last close), the
        core may be gone: the memory is left to the process's exit.
        """
        if buffer.data != ffi.NULL and not self._guard.detached:
            lib.OrthancPluginFreeMemoryBuffer(self._pointer, buffer)
        buffer.data = ffi.NULL
        buffer.size = 0

    def _take_string(self, result: Any) -> str | None:
        """Decode a ``char *`` from the core and free it at once."""
        if result == ffi.NULL:
            return None
        try:
            return _decode(ffi.string(result))
        finally:
            if not self._guard.detached:
                lib.OrthancPluginFreeString(self._pointer, result)

    # ---- REST API -------------------------------------------------------

    @_c_call
    def rest_api_get(
        self,
        uri: str,
        *,
        headers: Headers | None = None,
        after_plugins: bool = False,
    ) -> Buffer:
        """GET on Orthanc's REST API.

        Wraps ``OrthancPluginRestApiGet`` (or ``...GetAfterPlugins`` when
        ``after_plugins``, which also reaches routes that plugins registered;
        or ``OrthancPluginRestApiGet2`` when ``headers`` are given).

        Raises:
            UnknownResourceError: the core answered UNKNOWN_RESOURCE, which
                it does for most non-200 answers.
            OrthancError: any other code.
        """
        if headers is None:
            return self._guard.rest_api_get(uri, after_plugins)
        answer: Buffer = self._rest_api_get2(uri, headers, after_plugins)
        return answer

    @_sdk_call
    def _rest_api_get2(
        self, uri: str, headers: Headers, after_plugins: bool
    ) -> Buffer:
        uri_c = _encode(uri, "uri")
        count, keys, values, _alive = _headers(headers)
        target = ffi.new("OrthancPluginMemoryBuffer *")

        code = lib.OrthancPluginRestApiGet2(
            self._pointer,
            target,
            uri_c,
            count,
            keys,
            values,
            1 if after_plugins else 0,
        )
        self._raise_unless_success(
            code, "OrthancPluginRestApiGet2", uri_c, target
        )

        return self._take(target)

    @_sdk_call
    def rest_api_post(
        self, uri: str, body: Body, *, after_plugins: bool = False
    ) -> Buffer:
        """POST on Orthanc's REST API.

        Wraps ``OrthancPluginRestApiPost`` (``...PostAfterPlugins`` when
        ``after_plugins``).  ``body`` is bytes-like (not copied), ``str``
        (UTF-8) or ``dict``/``list`` (JSON); it must be under 4 GiB.

        Raises:
            OrthancError: the core answered an error code.
        """
        return self._post_put(uri, body, after_plugins, post=True)

    @_sdk_call
    def rest_api_put(
        self, uri: str, body: Body, *, after_plugins: bool = False
    ) -> Buffer:
        """PUT on Orthanc's REST API.

        Wraps ``OrthancPluginRestApiPut`` (``...PutAfterPlugins`` when
        ``after_plugins``).  ``body`` as for :meth:`rest_api_post`.

        Raises:
            OrthancError: the core answered an error code.
        """
        return self._post_put(uri, body, after_plugins, post=False)

    def _post_put(
        self, uri: str, body: Body, after_plugins: bool, *, post: bool
    ) -> Buffer:
        uri_c = _encode(uri, "uri")
        data, size = _body(body)
        target = ffi.new("OrthancPluginMemoryBuffer *")

        name = "OrthancPluginRestApi" + ("Post" if post else "Put")
        if after_plugins:
            name += "AfterPlugins"
        code = getattr(lib, name)(self._pointer, target, uri_c, data, size)
        self._raise_unless_success(code, name, uri_c, target)

        return self._take(target)

    @_sdk_call
    def rest_api_delete(
        self, uri: str, *, after_plugins: bool = False
    ) -> None:
        """DELETE on Orthanc's REST API.

        Wraps ``OrthancPluginRestApiDelete`` (``...DeleteAfterPlugins`` when
        ``after_plugins``).

        Raises:
            UnknownResourceError: nothing to delete there.
            OrthancError: any other code.
        """
        uri_c = _encode(uri, "uri")

        if after_plugins:
            name = "OrthancPluginRestApiDeleteAfterPlugins"
            code = lib.OrthancPluginRestApiDeleteAfterPlugins(
                self._pointer, uri_c
            )
        else:
            name = "OrthancPluginRestApiDelete"
            code = lib.OrthancPluginRestApiDelete(self._pointer, uri_c)
        self._raise_unless_success(code, name, uri_c)

    @_sdk_call
    def call_rest_api(
        self,
        method: HttpMethod | str,
        uri: str,
        *,
        body: Body | None = None,
        headers: Headers | None = None,
        after_plugins: bool = False,
    ) -> RestResponse:
        """Any call on Orthanc's REST API, with headers; the status is kept.

        Wraps ``OrthancPluginCallRestApi`` (Orthanc 1.9.2 and later).  When
        the core reports an HTTP status (it does for an unknown route, 404,
        and a method not allowed, 405) it is returned in the response; when
        the core answers an error code instead (it does for a known route
        that answers another non-200 status), that code is raised.  Orthanc
        drops the body of a DELETE.

        Raises:
            OrthancError: the core answered an error code.
        """
        verb = _method(method)
        uri_c = _encode(uri, "uri")
        data, size = (ffi.NULL, 0) if body is None else _body(body)
        count, keys, values, _alive = _headers(
            {} if headers is None else headers
        )
        answer_body = ffi.new("OrthancPluginMemoryBuffer *")
        answer_headers = ffi.new("OrthancPluginMemoryBuffer *")
        status = ffi.new("uint16_t *")

        code = lib.OrthancPluginCallRestApi(
            self._pointer,
            answer_body,
            answer_headers,
            status,
            verb,
            uri_c,
            count,
            keys,
            values,
            data,
            size,
            1 if after_plugins else 0,
        )
        if code != ErrorCode.SUCCESS:
            self._discard(answer_headers)
        self._raise_unless_success(
            code, "OrthancPluginCallRestApi", uri_c, answer_body
        )

        # The body first: if the headers do not parse, it is still freed.
        answer = self._take(answer_body)
        with self._take(answer_headers) as raw_headers:
            parsed = raw_headers.json() if len(raw_headers) else {}
        return RestResponse(
            status=status[0],
            headers={str(k): str(v) for k, v in parsed.items()},
            body=answer,
        )

    @_c_call
    def get_dicom_for_instance(self, instance_id: str) -> Buffer:
        """The DICOM file of an instance, by its Orthanc identifier.

        Wraps ``OrthancPluginGetDicomForInstance``.  The answer is Orthanc's
        own memory: ``memoryview(buffer)`` reads it without a copy.

        Raises:
            UnknownResourceError: no such instance.
            OrthancError: any other code.
        """
        return self._guard.get_dicom_for_instance(instance_id)

    # ---- lookups --------------------------------------------------------

    @_c_call
    def lookup_patient(self, patient_id: str) -> str | None:
        """The Orthanc id of the patient with this PatientID (0010,0020).

        Wraps ``OrthancPluginLookupPatient``, keeping the error code that
        the inline SDK function drops.  Orthanc normalises both sides (case
        folded, non-ASCII dropped, spaces trimmed; no wildcards).

        Returns:
            The id, or None when no patient matches, or several do.

        Raises:
            OrthancError: any failure other than "not found".
        """
        return self._guard.lookup_patient(patient_id)

    @_c_call
    def lookup_study(self, study_uid: str) -> str | None:
        """The Orthanc id of the study with this StudyInstanceUID.

        Wraps ``OrthancPluginLookupStudy``; see :meth:`lookup_patient`.
        """
        return self._guard.lookup_study(study_uid)

    @_c_call
    def lookup_study_with_accession_number(
        self, accession_number: str
    ) -> str | None:
        """The Orthanc id of the study with this AccessionNumber.

        Wraps ``OrthancPluginLookupStudyWithAccessionNumber``; see
        :meth:`lookup_patient`.
        """
        guard = self._guard
        return guard.lookup_study_with_accession_number(accession_number)

    @_c_call
    def lookup_series(self, series_uid: str) -> str | None:
        """The Orthanc id of the series with this SeriesInstanceUID.

        Wraps ``OrthancPluginLookupSeries``; see :meth:`lookup_patient`.
        """
        return self._guard.lookup_series(series_uid)

    @_c_call
    def lookup_instance(self, sop_instance_uid: str) -> str | None:
        """The Orthanc id of the instance with this SOPInstanceUID.

        Wraps ``OrthancPluginLookupInstance``; see :meth:`lookup_patient`.
        """
        return self._guard.lookup_instance(sop_instance_uid)

    # ---- global properties and the token --------------------------------

    @_c_call
    def get_global_property(self, property: int, default: str = "") -> str:
        """A global property stored in Orthanc's database, or ``default``.

        Wraps ``OrthancPluginGetGlobalProperty``, keeping the error code.

        Raises:
            TypeError, ValueError: ``property`` is not an int32.
            OrthancError: the core failed.
        """
        return self._guard.get_global_property(property, default)

    @_c_call
    def set_global_property(self, property: int, value: str) -> None:
        """Store a global property in Orthanc's database.

        Wraps ``OrthancPluginSetGlobalProperty``.  Values survive a restart.

        Raises:
            TypeError: ``property`` is not an int, or ``value`` not a string.
            ValueError: ``property`` is below 1024 (reserved by Orthanc,
                which would answer UNKNOWN_PLUGIN_SERVICE and write nothing)
                or outside int32, or ``value`` contains a NUL.
            OrthancError: the core failed.
        """
        self._guard.set_global_property(property, value)

    @_sdk_call
    def generate_rest_api_authorization_token(self) -> str:
        """A token that grants access to the REST API over HTTP.

        Wraps ``OrthancPluginGenerateRestApiAuthorizationToken`` (Orthanc
        1.8.1 and later), keeping the error code.  The token carries its
        scheme (``"Bearer ..."``): use it verbatim as the ``Authorization``
        header.  It is a secret: do not log it.

        Raises:
            OrthancError: the core failed.
        """
        result = ffi.new("char **")

        code = lib.OrthancSdkGenerateRestApiAuthorizationToken(
            self._pointer, result
        )
        self._raise_unless_success(
            code, "OrthancPluginGenerateRestApiAuthorizationToken", b""
        )

        token = self._take_string(result[0])
        return "" if token is None else token

    # ---- plugin runtime -------------------------------------------------

    @property
    def configuration(self) -> dict[str, Any]:
        """Orthanc's configuration, as a dict.

        Wraps ``OrthancPluginGetConfiguration``; read once, then cached.
        """
        if self._configuration is None:
            self._guard.enter()
            try:
                text = self._take_string(
                    lib.OrthancPluginGetConfiguration(self._pointer)
                )
            finally:
                self._guard.leave()
            if text is None:
                raise OrthancError(
                    ErrorCode.INTERNAL_ERROR,
                    "OrthancPluginGetConfiguration",
                )
            self._configuration = json.loads(text)
        return self._configuration

    @_sdk_call
    def register_rest_callback(
        self, path_regex: str, handler: RestHandler, *, lock: bool = False
    ) -> None:
        """Serve the URIs matching ``path_regex`` with ``handler(request)``.

        Wraps ``OrthancPluginRegisterRestCallbackNoLock``, or
        ``OrthancPluginRegisterRestCallback`` when ``lock`` is true (Orthanc
        then serialises the calls with its global plugin lock).  The handler
        gets a :class:`~orthanc_sdk.callbacks.Request` and returns bytes or
        str (200), dict or list (200, JSON), None (200, empty) or a
        :class:`~orthanc_sdk.callbacks.Response`.  An uncaught exception
        answers 500 and is logged with its traceback; an
        :class:`~orthanc_sdk.errors.OrthancError` answers the code's own
        HTTP status (404 for UNKNOWN_RESOURCE).  Register routes from
        ``initialize(context)``: the first matching route wins.

        Raises:
            TypeError: ``handler`` is not callable.
            ValueError: ``path_regex`` contains a NUL, or is not a valid
                regular expression.
        """
        regex_c = _encode(path_regex, "path_regex")
        try:
            # Orthanc's (Perl-like) syntax is close to Python's; the core
            # throws on a bad one, through these frames, and stops.  Only
            # (?<name>...) needs spelling the Python way.
            re.compile(re.sub(r"\(\?<(?=\w)", "(?P<", _decode(regex_c)))
        except re.error as error:
            raise ValueError(
                f"path_regex {path_regex!r} is not a valid regular"
                f" expression: {error}"
            ) from None
        if not callable(handler):
            raise TypeError("handler must be callable")
        callback = make_rest_callback(self, path_regex, handler)
        self._keepalive.append(callback)

        if lock:
            lib.OrthancPluginRegisterRestCallback(
                self._pointer, regex_c, callback
            )
        else:
            lib.OrthancPluginRegisterRestCallbackNoLock(
                self._pointer, regex_c, callback
            )

    @_sdk_call
    def register_on_change_callback(self, handler: ChangeHandler) -> None:
        """Call ``handler(change_type, resource_type, resource_id)``.

        Wraps ``OrthancPluginRegisterOnChangeCallback``.  Events are queued
        and handled in order on one Python thread, so a handler may use the
        REST API for every kind of change; a handler that raises is logged
        and the next one still runs.  ``ChangeType.ORTHANC_STARTED`` says
        the REST API, lookups and global properties are ready.

        Raises:
            TypeError: ``handler`` is not callable.
        """
        if not callable(handler):
            raise TypeError("handler must be callable")
        change_dispatcher(self).handlers.append(handler)

    def log(self, level: int, message: str) -> None:
        """Write ``message`` to Orthanc's log (``logging`` level numbers).

        Wraps ``OrthancPluginLogError``, ``...LogWarning`` or
        ``...LogInfo``.  Plugin code would rather use ``logging``: the host
        routes its records here.  Works while Orthanc is stopping; dropped
        once the plugin is finalized.
        """
        if isinstance(level, bool) or not isinstance(level, int):
            raise TypeError(
                f"level must be an int, not {type(level).__name__}"
            )
        if not isinstance(message, str):
            raise TypeError(
                f"message must be str, not {type(message).__name__}"
            )
        text = message.encode("utf-8", "replace").replace(b"\0", b"\\0")
        if level >= logging.ERROR:
            function = lib.OrthancPluginLogError
        elif level >= logging.WARNING:
            function = lib.OrthancPluginLogWarning
        else:
            function = lib.OrthancPluginLogInfo
        if not self._guard.enter_while_closed():
            return
        try:
            function(self._pointer, text)
        finally:
            self._guard.leave()

    # ---- errors ---------------------------------------------------------

    def _raise_unless_success(
        self,
        code: int,
        function: str,
        detail: bytes,
        target: Any = None,
    ) -> None:
        if code == ErrorCode.SUCCESS:
            return
        if target is not None:
            self._discard(target)
        check(
            code,
            function,
            _decode(detail),
            context=self._pointer,
        )
