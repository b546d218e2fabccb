# SPDX-License-Identifier: GPL-3.0-or-later
"""A fake Orthanc core: a test double for ``InvokeService`` and ``Free``.

Two classes, for two kinds of tests:

* :class:`FakeCore` is the protocol-level double.  It records every call
  (:attr:`FakeCore.calls`: the service's name and the decoded contents of
  its parameter struct), answers as each test programs it per service
  (:meth:`FakeCore.answer`), and otherwise answers success with an empty
  result.  It is what orthanc_sdk's own unit tests use.
* :class:`FakeOrthanc` answers from data the test provides, the way
  Orthanc would: REST answers by method and URI, lookups, global
  properties, DICOM files by instance id, the configuration.  It also
  serves the plugin's routes (:meth:`FakeOrthanc.call_route`), so a
  plugin's ``initialize(context)`` and its handlers run without Orthanc.

Both allocate every answer with ``malloc`` and count every ``Free``: a
``Free`` of memory the core did not allocate, or already freed, is recorded
(not performed), and :meth:`FakeCore.check_clean` names each buffer or
string the code under test did not give back.  Freed memory is overwritten
with :data:`POISON` before it goes back to ``malloc``, so reading memory
after giving it back shows.

The fake is its own cffi module, ``orthanc_sdk.testing._fakecore_cffi``,
built by ``pip install`` from the same SDK header as the package.
"""

from __future__ import annotations

import gc
import importlib
import json
import re
import threading
import traceback
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import _host
from .. import callbacks as _callbacks
from ..context import Context
from ..enums import ErrorCode

if TYPE_CHECKING:
    from ._fakecore_cffi import _FFI

__all__ = [
    "POISON",
    "SERVICES",
    "Answer",
    "Call",
    "FakeCore",
    "FakeOrthanc",
    "RouteAnswer",
    "load",
]

#: What freed memory is overwritten with.
POISON = 0xDD

# The HTTP status Orthanc answers when a route returns one of these codes
# (any other answers 500); tests/test_testing_orthanc.py compares them with
# a real Orthanc.
_ROUTE_ERROR_STATUS: dict[int, int] = {
    ErrorCode.UNKNOWN_RESOURCE: 404,
    ErrorCode.INEXISTENT_ITEM: 404,
    ErrorCode.INEXISTENT_FILE: 404,
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.BAD_FILE_FORMAT: 400,
    ErrorCode.BAD_JSON: 400,
    ErrorCode.PARAMETER_OUT_OF_RANGE: 400,
    ErrorCode.BAD_PARAMETER_TYPE: 400,
    ErrorCode.UNAUTHORIZED: 401,
}

_JSON = "application/json"

# The statuses Orthanc 1.10.1 sends (observed): it refuses the others with
# ParameterOutOfRange, and the client gets no answer.  301, 401 and 405
# have services of their own.
_ORTHANC_STATUSES = frozenset(
    [101, 102, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226]
    + [300, 301, 302, 303, 304, 305, 307]
    + list(range(400, 418))
    + [422, 423, 424, 426]
    + [500, 501, 502, 503, 504, 505, 506, 507, 509, 510]
)


@dataclass
class Answer:
    """What the fake core answers to one call.

    ``body`` fills the call's target buffer (``None`` or empty: data NULL,
    size 0, as Orthanc answers an empty body); ``headers`` fills
    CallRestApi's answer headers (a mapping is sent as JSON); ``status`` is
    CallRestApi's HTTP status; ``result`` is the string of the services that
    answer one (lookups, token, properties, configuration, error
    descriptions).  Outputs are written only when ``code`` is success, unless
    ``fill_on_error``: then the buffers are filled and the code is still
    returned (the status is never written with an error).
    """

    code: int = 0
    body: bytes | str | None = None
    status: int = 200
    headers: Mapping[str, str] | bytes | None = None
    result: bytes | str | None = None
    fill_on_error: bool = False


@dataclass
class Call:
    """One call into the fake core, as its parameter struct said.

    Strings are the exact bytes the binding sent (``None`` for NULL).
    ``argument`` is the single string argument of the services that take
    one (an instance id, a lookup value).  ``allocated`` lists the addresses
    of what the core allocated for the answer, in order (body, headers).
    """

    service: str
    code: int = 0
    uri: bytes | None = None
    body: bytes | None = None
    body_address: int = 0
    body_size: int | None = None
    headers: list[tuple[bytes, bytes]] | None = None
    after_plugins: int | None = None
    method: int | None = None
    property: int | None = None
    value: bytes | None = None
    argument: bytes | None = None
    error: int | None = None
    message: bytes | None = None
    allocated: list[int] = field(default_factory=list)
    thread: int = field(default_factory=threading.get_ident)

    def describe(self) -> str:
        """The service and what it was asked, e.g. ``RestApiGet /system``."""
        asked = self.uri if self.uri is not None else self.argument
        if asked is None and self.property is not None:
            asked = str(self.property).encode()
        if asked is None:
            return self.service
        return f"{self.service} {asked.decode('utf-8', 'replace')}"


Responder = Answer | Callable[[Call], Answer]


@dataclass
class RouteAnswer:
    """What a plugin's route answered to :meth:`FakeOrthanc.call_route`.

    Attributes:
        status: the HTTP status Orthanc would send; 0 when it would send
            nothing and close the connection (the route sent a status
            that Orthanc does not know, such as 418).
        body: the body (empty for an error the route returned as a code).
        content_type: the MIME type the route gave, if any.
        headers: the headers the route set, names in lower case.
        code: the error code the route returned (0 for success).
        unanswered: Orthanc refused the status the route sent.
    """

    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    code: int = 0
    unanswered: bool = False

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


# ---- the compiled module ------------------------------------------------

_module: Any = None
_load_lock = threading.Lock()

# Shared by every fake: Free carries no context, so an allocation is found
# by its address.  Re-entrant: a Buffer collected while the lock is held
# frees itself through Free on the same thread.
_lock = threading.RLock()
# address: (core, size, what the memory answered)
_owners: dict[int, tuple[FakeCore, int, str]] = {}
_freed: set[int] = set()
_cores: dict[int, FakeCore] = {}  # context address: core
_active: list[FakeCore] = []
# Error descriptions are static strings in the core: never freed.
_descriptions: dict[bytes, Any] = {}
# Service number (the header's) to name, filled by load().
_SERVICE_NAMES: dict[int, str] = {}
_PREFIX = "_OrthancPluginService_"


def load() -> tuple[Any, Any]:
    """The fake core's ``(ffi, lib)``.

    Raises:
        ImportError: the fake core's module was not built with the package
            (it is built by ``pip install`` with a C compiler and the SDK
            header of the Debian package ``orthanc-dev``).
    """
    global _module
    with _load_lock:
        if _module is None:
            try:
                module = importlib.import_module(
                    f"{__package__}._fakecore_cffi"
                )
            except ImportError as error:
                raise ImportError(
                    "orthanc_sdk.testing: the fake core's compiled module"
                    " is missing; reinstall orthanc_sdk with pip (the build"
                    " needs a C compiler and the Debian package"
                    f" orthanc-dev): {error}"
                ) from error
            _SERVICE_NAMES.update(
                {
                    getattr(module.lib, name): name[len(_PREFIX) :]
                    for name in dir(module.lib)
                    if name.startswith(_PREFIX)
                }
            )
            _register_callbacks(module.ffi, module.lib)
            _module = module
    return _module.ffi, _module.lib


def _report(text: str) -> None:
    with _lock:
        for fake in _active:
            fake.callback_errors.append(text)


def _callback_failed(exc_type: Any, value: Any, tb: Any) -> None:
    # Without this, cffi would print the traceback and answer 0, which is
    # OrthancPluginErrorCode_Success: a broken fake would pass for a core.
    _report("".join(traceback.format_exception(exc_type, value, tb)))


def _register_callbacks(ffi: _FFI, lib: Any) -> None:
    @ffi.def_extern(
        error=lib.OrthancPluginErrorCode_InternalError,
        onerror=_callback_failed,
    )
    def _fakecore_invoke_service(
        context: Any, service: int, params: Any
    ) -> int:
        fake = _cores.get(int(ffi.cast("uintptr_t", context)))
        if fake is None:
            _report(f"InvokeService({service}) on an unknown context")
            return int(lib.OrthancPluginErrorCode_InternalError)
        return fake._invoke(service, params)

    @ffi.def_extern(onerror=_callback_failed)
    def _fakecore_free(pointer: Any) -> None:
        address = int(ffi.cast("uintptr_t", pointer))
        with _lock:
            if address == 0:
                for fake in _active:
                    fake.null_frees += 1
                return
            owner = _owners.pop(address, None)
            if owner is None:
                what = (
                    "freed twice"
                    if address in _freed
                    else "never allocated by the core"
                )
                for fake in _active:
                    fake._double_frees.append((address, what))
                return
            fake, size, _what = owner
            _freed.add(address)
            fake._live.discard(address)
            fake.frees += 1
            fake.freed.append(address)
        ffi.memmove(pointer, bytes([POISON]) * size, size)
        lib.free(pointer)


def _bytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


# ---- the protocol-level fake ----------------------------------------------


class FakeCore:
    """One fake Orthanc core with its context.

    Use it as a context manager (``with FakeCore() as core:``): at the end
    of a block without an exception it runs :meth:`check_clean`.

    Args:
        version: the Orthanc version the core reports (default: the SDK
            header's).

    Attributes:
        context: the ``orthanc_sdk.Context`` over this core.
        address: the ``OrthancPluginContext *`` as an integer.
        calls: every :class:`Call`, in order.
        allocations, frees: how many blocks were allocated and freed.
        freed: the addresses freed, in order.
        null_frees: how many times ``Free(NULL)`` was called (harmless).
        properties: the global properties set so far (property: value).
        descriptions: error description per code (a default otherwise).
        callback_errors: tracebacks of failures inside the fake itself.
        keep_bodies: copy request bodies into ``Call.body``; off, only
            their address and size are recorded (for bodies too large to
            copy).
    """

    def __init__(self, version: str | None = None) -> None:
        self.ffi, self.lib = load()
        ffi, lib = self.ffi, self.lib
        self.version = version or "{}.{}.{}".format(*self.sdk_version)
        self.calls: list[Call] = []
        self.allocations = 0
        self.frees = 0
        self.freed: list[int] = []
        self.null_frees = 0
        self.properties: dict[int, bytes] = {}
        self.descriptions: dict[int, str] = {}
        self.callback_errors: list[str] = []
        self.keep_bodies = True
        self._double_frees: list[tuple[int, str]] = []
        self._live: set[int] = set()
        self._answers: dict[str, Responder] = {}

        self._version = ffi.new("char[]", self.version.encode())
        self._struct = ffi.new("OrthancPluginContext *")
        self._struct.orthancVersion = self._version
        self._struct.Free = lib._fakecore_free
        self._struct.InvokeService = lib._fakecore_invoke_service
        self.address = int(ffi.cast("uintptr_t", self._struct))
        with _lock:
            _cores[self.address] = self
            _active.append(self)
        self.context = Context(self.address)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {len(self.calls)} calls,"
            f" {self.outstanding()} outstanding>"
        )

    def __enter__(self) -> FakeCore:
        return self

    def __exit__(self, exc_type: Any, *rest: object) -> None:
        try:
            if exc_type is None:
                self.check_clean()
        finally:
            self.dispose()

    # ---- programming ----------------------------------------------------

    @property
    def sdk_version(self) -> tuple[int, int, int]:
        """The header's ``ORTHANC_PLUGINS_MINIMAL_*`` numbers."""
        return (
            self.lib.ORTHANC_PLUGINS_MINIMAL_MAJOR_NUMBER,
            self.lib.ORTHANC_PLUGINS_MINIMAL_MINOR_NUMBER,
            self.lib.ORTHANC_PLUGINS_MINIMAL_REVISION_NUMBER,
        )

    def service_number(self, name: str) -> int:
        """The header's number for a service, e.g. ``"RestApiGet"``."""
        return int(getattr(self.lib, _PREFIX + name))

    def answer(
        self,
        service: str,
        respond: Responder | None = None,
        **fields: Any,
    ) -> None:
        """Program the answers to ``service`` (e.g. ``"RestApiGet"``).

        Either an :class:`Answer`, a function from the :class:`Call` to an
        Answer (for answers that depend on the request), or the Answer's
        fields as keywords.  It wins over what the core would answer
        otherwise.

        Raises:
            ValueError: the fake does not serve ``service``.
            TypeError: both ``respond`` and fields were given.
        """
        if service not in _HANDLERS:
            raise ValueError(f"the fake core does not serve {service!r}")
        if respond is None:
            respond = Answer(**fields)
        elif fields:
            raise TypeError("give an Answer, a function or fields, not both")
        self._answers[service] = respond

    def services(self) -> list[str]:
        """The names of the services called, in order."""
        return [call.service for call in self.calls]

    def only_call(self, service: str | None = None) -> Call:
        """The one call made (optionally checking its service).

        Raises:
            AssertionError: not exactly one call, or another service.
        """
        if len(self.calls) != 1:
            raise AssertionError(f"expected one call, got {self.services()}")
        if service is not None and self.calls[0].service != service:
            raise AssertionError(
                f"expected {service}, got {self.calls[0].service}"
            )
        return self.calls[0]

    # ---- accounting -----------------------------------------------------

    def outstanding(self) -> int:
        """How many blocks this core allocated that are not freed yet."""
        with _lock:
            return len(self._live)

    def leaks(self) -> list[str]:
        """What each block not freed yet answered, e.g. ``RestApiGet /x``."""
        with _lock:
            return sorted(_owners[address][2] for address in self._live)

    def double_frees(self) -> list[tuple[int, str]]:
        """``(address, what)`` of every bad ``Free`` while this core lived."""
        with _lock:
            return list(self._double_frees)

    def check_clean(self) -> None:
        """Check: no error in the fake, no bad ``Free``, nothing left.

        A Buffer caught in a reference cycle is freed by the collector, so
        outstanding memory is counted again after ``gc.collect()`` (only
        then: a full collection costs tens of milliseconds).

        Raises:
            AssertionError: naming what failed, or each buffer or string
                that was not given back and the call that answered it.
        """
        if self.outstanding():
            gc.collect()
        if self.callback_errors:
            raise AssertionError(
                "the fake core failed:\n" + "\n".join(self.callback_errors)
            )
        if self.double_frees():
            raise AssertionError(f"bad Free calls: {self.double_frees()}")
        if self.outstanding():
            leaks = self.leaks()
            raise AssertionError(
                f"{len(leaks)} blocks were never given back (release the"
                " Buffer, or use it in a with block): " + "; ".join(leaks)
            )

    def reclaim(self) -> int:
        """Free what is still outstanding, as process exit would.

        For tests that leak on purpose (a Buffer alive after the context
        was closed).  Returns how many blocks that was.
        """
        with _lock:
            addresses = list(self._live)
            for address in addresses:
                _owners.pop(address)
                _freed.add(address)
                self._live.discard(address)
        for address in addresses:
            self.lib.free(self.ffi.cast("void *", address))
        return len(addresses)

    def dispose(self) -> None:
        """Close the context and stop serving it.

        The on-change dispatcher is one per process, registered with the
        first core that asks for it: if that was this core, it is stopped
        here, so that the next core's plugin registers its handlers anew
        instead of adding them to a dispatcher left from an earlier test.
        """
        if "RegisterOnChangeCallback" in self.services():
            _callbacks.stop_changes(timeout=1.0)
        self.context.close(timeout=1.0)
        with _lock:
            _cores.pop(self.address, None)
            if self in _active:
                _active.remove(self)

    # ---- memory ---------------------------------------------------------

    def _allocate(
        self, call: Call, data: bytes, *, terminate: bool = False
    ) -> Any:
        ffi, lib = self.ffi, self.lib
        size = len(data) + (1 if terminate else 0)
        pointer = lib.malloc(max(size, 1))
        if pointer == ffi.NULL:
            raise MemoryError("the fake core's malloc failed")
        ffi.memmove(pointer, data, len(data))
        if terminate:
            ffi.cast("char *", pointer)[len(data)] = b"\0"
        address = int(ffi.cast("uintptr_t", pointer))
        with _lock:
            _owners[address] = (self, size, call.describe())
            _freed.discard(address)
            self._live.add(address)
            self.allocations += 1
        call.allocated.append(address)
        return pointer

    def _fill(self, call: Call, target: Any, data: Any) -> None:
        """Write an answer into an ``OrthancPluginMemoryBuffer *``."""
        if target == self.ffi.NULL:
            return
        data = b"" if data is None else _bytes(data)
        if not data:
            target.data = self.ffi.NULL
            target.size = 0
            return
        target.data = self._allocate(call, data)
        target.size = len(data)

    def _string(self, call: Call, result: Any, text: Any) -> None:
        """Write a string answer into a ``char **``."""
        if text is None:
            result[0] = self.ffi.NULL
            return
        pointer = self._allocate(call, _bytes(text), terminate=True)
        result[0] = self.ffi.cast("char *", pointer)

    # ---- serving --------------------------------------------------------

    def _text(self, pointer: Any) -> bytes | None:
        if pointer == self.ffi.NULL:
            return None
        text: bytes = self.ffi.string(pointer)
        return text

    def _headers(
        self, count: int, keys: Any, values: Any
    ) -> list[tuple[bytes, bytes]]:
        return [
            (self.ffi.string(keys[i]), self.ffi.string(values[i]))
            for i in range(count)
        ]

    def _body(self, call: Call, body: Any, size: int) -> None:
        call.body_size = size
        call.body_address = int(self.ffi.cast("uintptr_t", body))
        if body != self.ffi.NULL and self.keep_bodies:
            call.body = self.ffi.buffer(body, size)[:]

    def _respond(self, call: Call) -> Answer:
        respond = self._answers.get(call.service)
        if respond is None:
            return self._default_answer(call)
        return respond if isinstance(respond, Answer) else respond(call)

    def _default_answer(self, call: Call) -> Answer:
        """What the core answers to a service no test programmed."""
        return Answer()

    def _invoke(self, number: int, params: Any) -> int:
        name = _SERVICE_NAMES.get(number)
        if name is None or name not in _HANDLERS:
            # Refused as Orthanc refuses a service it does not know.
            call = Call(f"service {number}")
            call.code = self.lib.OrthancPluginErrorCode_UnknownPluginService
        else:
            call = Call(name)
            call.code = _HANDLERS[name](self, call, params)
        with _lock:
            self.calls.append(call)
        return call.code

    def _serve_log(self, call: Call, params: Any) -> int:
        call.message = self.ffi.string(self.ffi.cast("const char *", params))
        return self._respond(call).code

    def _serve_description(self, call: Call, params: Any) -> int:
        p = self.ffi.cast("_OrthancPluginGetErrorDescription *", params)
        call.error = p.error
        answer = self._respond(call)
        if answer.code == 0:
            text = answer.result
            if text is None:
                text = self.descriptions.get(
                    p.error, f"fake core: error {p.error}"
                )
            data = _bytes(text)
            with _lock:
                static = _descriptions.setdefault(
                    data, self.ffi.new("char[]", data)
                )
            p.target[0] = static
        return answer.code

    def _serve_string(self, call: Call, params: Any) -> int:
        p = self.ffi.cast("_OrthancPluginRetrieveDynamicString *", params)
        call.argument = self._text(p.argument)
        answer = self._respond(call)
        if answer.code == 0:
            self._string(call, p.result, answer.result)
        return answer.code

    def _serve_get_property(self, call: Call, params: Any) -> int:
        p = self.ffi.cast("_OrthancPluginGlobalProperty *", params)
        call.property = p.property
        call.value = self._text(p.value)
        answer = self._respond(call)
        if answer.code == 0:
            # Like Orthanc: the stored value, else a copy of the default.
            text = answer.result
            if text is None:
                text = self.properties.get(p.property, call.value)
            self._string(call, p.result, text)
        return answer.code

    def _serve_set_property(self, call: Call, params: Any) -> int:
        p = self.ffi.cast("_OrthancPluginGlobalProperty *", params)
        call.property = p.property
        call.value = self._text(p.value)
        answer = self._respond(call)
        if answer.code == 0:
            self.properties[p.property] = call.value or b""
        return answer.code

    def _serve_dicom(self, call: Call, params: Any) -> int:
        p = self.ffi.cast("_OrthancPluginGetDicomForInstance *", params)
        call.argument = self._text(p.instanceId)
        return self._answer_target(call, p.target)

    def _serve_get(self, call: Call, params: Any) -> int:
        p = self.ffi.cast("_OrthancPluginRestApiGet *", params)
        call.uri = self._text(p.uri)
        return self._answer_target(call, p.target)

    def _serve_get2(self, call: Call, params: Any) -> int:
        p = self.ffi.cast("_OrthancPluginRestApiGet2 *", params)
        call.uri = self._text(p.uri)
        call.headers = self._headers(
            p.headersCount, p.headersKeys, p.headersValues
        )
        call.after_plugins = p.afterPlugins
        return self._answer_target(call, p.target)

    def _serve_post_put(self, call: Call, params: Any) -> int:
        p = self.ffi.cast("_OrthancPluginRestApiPostPut *", params)
        call.uri = self._text(p.uri)
        self._body(call, p.body, p.bodySize)
        return self._answer_target(call, p.target)

    def _serve_delete(self, call: Call, params: Any) -> int:
        # The SDK passes the URI itself as the parameters.
        call.uri = self.ffi.string(self.ffi.cast("const char *", params))
        return self._respond(call).code

    def _serve_call_rest_api(self, call: Call, params: Any) -> int:
        p = self.ffi.cast("_OrthancPluginCallRestApi *", params)
        call.method = p.method
        call.uri = self._text(p.uri)
        call.headers = self._headers(
            p.headersCount, p.headersKeys, p.headersValues
        )
        self._body(call, p.body, p.bodySize)
        call.after_plugins = p.afterPlugins
        answer = self._respond(call)
        if answer.code == 0 or answer.fill_on_error:
            self._fill(call, p.answerBody, answer.body)
            headers = answer.headers
            if isinstance(headers, Mapping):
                headers = json.dumps(dict(headers)).encode("utf-8")
            self._fill(call, p.answerHeaders, headers)
        if answer.code == 0:
            p.httpStatus[0] = answer.status
        return answer.code

    def _answer_target(self, call: Call, target: Any) -> int:
        answer = self._respond(call)
        if answer.code == 0 or answer.fill_on_error:
            self._fill(call, target, answer.body)
        return answer.code

    def _serve_void(self, call: Call, params: Any) -> int:
        # Registrations and route answers: recorded, nothing else.
        return self._respond(call).code


_HANDLERS: dict[str, Callable[[FakeCore, Call, Any], int]] = {
    "LogInfo": FakeCore._serve_log,
    "LogWarning": FakeCore._serve_log,
    "LogError": FakeCore._serve_log,
    "GetConfiguration": FakeCore._serve_string,
    "GetConfigurationPath": FakeCore._serve_string,
    "GetGlobalProperty": FakeCore._serve_get_property,
    "SetGlobalProperty": FakeCore._serve_set_property,
    "GetErrorDescription": FakeCore._serve_description,
    "GenerateRestApiAuthorizationToken": FakeCore._serve_string,
    "GetDicomForInstance": FakeCore._serve_dicom,
    "RestApiGet": FakeCore._serve_get,
    "RestApiGetAfterPlugins": FakeCore._serve_get,
    "RestApiGet2": FakeCore._serve_get2,
    "RestApiPost": FakeCore._serve_post_put,
    "RestApiPostAfterPlugins": FakeCore._serve_post_put,
    "RestApiPut": FakeCore._serve_post_put,
    "RestApiPutAfterPlugins": FakeCore._serve_post_put,
    "RestApiDelete": FakeCore._serve_delete,
    "RestApiDeleteAfterPlugins": FakeCore._serve_delete,
    "CallRestApi": FakeCore._serve_call_rest_api,
    "LookupPatient": FakeCore._serve_string,
    "LookupStudy": FakeCore._serve_string,
    "LookupStudyWithAccessionNumber": FakeCore._serve_string,
    "LookupSeries": FakeCore._serve_string,
    "LookupInstance": FakeCore._serve_string,
}

#: The services a FakeCore answers; any other is refused with
#: UnknownPluginService and recorded as ``"service N"``.
SERVICES = tuple(_HANDLERS)


# ---- the data-driven fake -------------------------------------------------

#: The lookup levels of :meth:`FakeOrthanc.add_lookup` and their services.
LOOKUPS = {
    "patient": "LookupPatient",
    "study": "LookupStudy",
    "accession_number": "LookupStudyWithAccessionNumber",
    "series": "LookupSeries",
    "instance": "LookupInstance",
}

_METHODS = ("GET", "POST", "PUT", "DELETE")

# What each REST service is, for the table of REST answers.
_REST_METHODS = {
    "RestApiGet": "GET",
    "RestApiGetAfterPlugins": "GET",
    "RestApiGet2": "GET",
    "RestApiPost": "POST",
    "RestApiPostAfterPlugins": "POST",
    "RestApiPut": "PUT",
    "RestApiPutAfterPlugins": "PUT",
    "RestApiDelete": "DELETE",
    "RestApiDeleteAfterPlugins": "DELETE",
}

#: A REST answer: bytes or str (sent as is), dict or list (JSON), or a
#: function of the :class:`Call` that returns one of those.
RestValue = bytes | str | dict[str, Any] | list[Any] | Callable[[Call], Any]

_UNKNOWN_RESOURCE = int(ErrorCode.UNKNOWN_RESOURCE)


@dataclass
class _Route:
    regex: re.Pattern[str]
    callback: Any
    lock: bool


@dataclass
class _RestEntry:
    value: RestValue
    status: int
    content_type: str


class FakeOrthanc(FakeCore):
    """A fake core that answers from data, as Orthanc would.

    Program it with :meth:`add_rest`, :meth:`add_lookup`, :meth:`add_dicom`,
    :meth:`set_global_property` and ``configuration``; then run the code
    under test with :attr:`context` (also :func:`orthanc_sdk.current_context`
    after :meth:`install`).  What was not programmed answers as Orthanc
    does for something that does not exist: the REST API and DICOM
    retrieval raise :class:`~orthanc_sdk.UnknownResourceError` (and
    ``call_rest_api`` answers status 404), lookups answer ``None``, global
    properties their default.  :meth:`FakeCore.answer` still overrides any
    service.

    Routes that the plugin registers are kept; :meth:`call_route` serves a
    request with them, as Orthanc's HTTP server would.  On-change handlers
    are not called by the fake: call them directly.

    Args:
        configuration: what ``context.configuration`` answers.
        version: the Orthanc version the core reports.
        token: what ``generate_rest_api_authorization_token()`` answers.
    """

    def __init__(
        self,
        configuration: Mapping[str, Any] | None = None,
        *,
        version: str | None = None,
        token: str = "Bearer fake-orthanc-token",
    ) -> None:
        super().__init__(version)
        #: What ``context.configuration`` answers.
        self.configuration: dict[str, Any] = dict(configuration or {})
        #: What the token service answers.
        self.token = token
        self._rest: dict[tuple[str, str], _RestEntry] = {}
        self._lookups: dict[str, dict[str, str]] = {k: {} for k in LOOKUPS}
        self._dicom: dict[str, bytes] = {}
        self._routes: list[_Route] = []
        self._route_answers: dict[int, RouteAnswer] = {}
        # Orthanc's global plugin lock, for routes registered with lock=True.
        self._plugin_lock = threading.Lock()
        self._previous_context: Context | None = None
        self._installed = False

    def __enter__(self) -> FakeOrthanc:
        return self

    # ---- data -------------------------------------------------------------

    def add_rest(
        self,
        uri: str,
        value: RestValue = b"",
        *,
        method: str = "GET",
        status: int = 200,
        content_type: str | None = None,
    ) -> None:
        """Answer ``method uri`` with ``value``.

        ``uri`` matches the URI the plugin sends exactly, or its path
        without the query string.  A ``status`` other than 200 is reported
        as Orthanc 1.10 reports it: ``rest_api_*`` raise
        :class:`~orthanc_sdk.UnknownResourceError`, and ``call_rest_api``
        too (Orthanc writes no status then).

        Raises:
            ValueError: an unknown method, a URI without a leading ``/``,
                or a status that is not HTTP.
        """
        method = method.upper()
        if method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}: {method!r}")
        if not uri.startswith("/"):
            raise ValueError(f"uri must start with '/': {uri!r}")
        if not 100 <= status <= 599:
            raise ValueError(f"{status} is not an HTTP status")
        if content_type is None:
            json_like = isinstance(value, (dict, list))
            content_type = _JSON if json_like else "application/octet-stream"
        self._rest[(method, uri)] = _RestEntry(value, status, content_type)

    def add_lookup(self, level: str, value: str, orthanc_id: str) -> None:
        """Make the lookup of ``value`` at ``level`` find ``orthanc_id``.

        ``level`` is one of ``patient``, ``study``, ``accession_number``,
        ``series``, ``instance``.  The fake compares values exactly
        (Orthanc normalises case and spaces first).

        Raises:
            ValueError: an unknown level.
        """
        if level not in LOOKUPS:
            raise ValueError(
                f"level must be one of {', '.join(LOOKUPS)}, not {level!r}"
            )
        self._lookups[level][value] = orthanc_id

    def add_dicom(self, instance_id: str, data: bytes) -> None:
        """Serve ``data`` as the DICOM file of ``instance_id``.

        Both ``get_dicom_for_instance(instance_id)`` and
        ``GET /instances/{instance_id}/file`` answer it.
        """
        self._dicom[instance_id] = bytes(data)
        self.add_rest(
            f"/instances/{instance_id}/file",
            self._dicom[instance_id],
            content_type="application/dicom",
        )

    def set_global_property(self, property: int, value: str) -> None:
        """Store a global property, as if Orthanc had it already."""
        self.properties[property] = value.encode("utf-8")

    def global_property(self, property: int) -> str | None:
        """The global property the code under test stored, if any."""
        value = self.properties.get(property)
        return None if value is None else value.decode("utf-8")

    # ---- current_context() -----------------------------------------------

    def install(self) -> None:
        """Make :func:`orthanc_sdk.current_context` answer this context.

        Undone by :meth:`dispose` (the pytest fixture does both).
        """
        if not self._installed:
            self._previous_context = _host._context
            _host._context = self.context
            self._installed = True

    def dispose(self) -> None:
        """Close the context, stop serving it, undo :meth:`install`."""
        if self._installed:
            _host._context = self._previous_context
            self._installed = False
        super().dispose()

    # ---- routes -----------------------------------------------------------

    @property
    def routes(self) -> list[str]:
        """The regular expressions of the routes registered, in order."""
        return [route.regex.pattern for route in self._routes]

    def call_route(
        self,
        method: str,
        uri: str,
        body: bytes | str | dict[str, Any] | list[Any] = b"",
        *,
        headers: Mapping[str, str] | None = None,
    ) -> RouteAnswer:
        """Serve one HTTP request with the plugin's registered routes.

        The path is percent-decoded first, as Orthanc does (``+`` and an
        invalid escape stay as they are); the first route whose expression
        matches the whole of it gets the request, with its groups, GET
        arguments (from the query string, not decoded, as Orthanc 1.10
        passes them) and headers.  Routes
        registered with ``lock=True`` run one at a time, as under Orthanc's
        global plugin lock.  Calls from several threads at once are fine.

        Returns:
            What the route answered; status 404 when no route matches.

        Raises:
            ValueError: an unknown method or a URI without a leading ``/``.
        """
        method = method.upper()
        if method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}: {method!r}")
        if not uri.startswith("/"):
            raise ValueError(f"uri must start with '/': {uri!r}")
        path, _, query = uri.partition("?")
        path = urllib.parse.unquote(path, errors="surrogateescape")
        for route in self._routes:
            match = route.regex.fullmatch(path)
            if match is not None:
                break
        else:
            return RouteAnswer(status=404)

        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        data = _bytes(body)
        arguments = [
            tuple(item.partition("=")[::2])
            for item in query.split("&")
            if item
        ]
        return self._run_route(
            route,
            method,
            path,
            [group or "" for group in match.groups()],
            arguments,
            list((headers or {}).items()),
            data,
        )

    def _run_route(
        self,
        route: _Route,
        method: str,
        path: str,
        groups: list[str],
        arguments: list[tuple[str, ...]],
        headers: list[tuple[str, str]],
        data: bytes,
    ) -> RouteAnswer:
        ffi, lib = self.ffi, self.lib

        def strings(values: list[str]) -> tuple[Any, list[Any]]:
            keep = [ffi.new("char[]", _encode(v)) for v in values]
            return ffi.new("const char *[]", keep or [ffi.NULL]), keep

        keepalive: list[Any] = []
        request = ffi.new("OrthancPluginHttpRequest *")
        request.method = getattr(
            lib, "OrthancPluginHttpMethod_" + method.capitalize()
        )
        for name, values in (
            ("groups", groups),
            ("getKeys", [a[0] for a in arguments]),
            ("getValues", [a[1] for a in arguments]),
            ("headersKeys", [h[0].lower() for h in headers]),
            ("headersValues", [h[1] for h in headers]),
        ):
            array, keep = strings(values)
            keepalive += [array, keep]
            setattr(request, name, array)
        request.groupsCount = len(groups)
        request.getCount = len(arguments)
        request.headersCount = len(headers)
        body = ffi.new("char[]", data or b"\0")
        request.body = body if data else ffi.NULL
        request.bodySize = len(data)
        url = ffi.new("char[]", _encode(path))
        # The output is an opaque handle: a cookie the answer services
        # recognise this call by.
        cookie = ffi.new("char *")
        output = ffi.cast("OrthancPluginRestOutput *", cookie)
        key = int(ffi.cast("uintptr_t", output))
        answer = RouteAnswer(status=0)
        with _lock:
            self._route_answers[key] = answer

        try:
            if route.lock:
                with self._plugin_lock:
                    code = route.callback(output, url, request)
            else:
                code = route.callback(output, url, request)
        finally:
            with _lock:
                self._route_answers.pop(key, None)

        answer.code = int(code)
        if answer.unanswered and code == 0:
            # The route went on as if its status had been sent.
            answer.status = 0
            answer.body = b""
        elif code != 0:
            answer.status = _ROUTE_ERROR_STATUS.get(int(code), 500)
            answer.body = b""
        elif answer.status == 0:
            # Orthanc's answer to a route that sent nothing.
            answer.status = 200
        return answer

    def _route_answer(self, output: Any) -> RouteAnswer:
        key = int(self.ffi.cast("uintptr_t", output))
        with _lock:
            answer = self._route_answers.get(key)
        if answer is None:
            raise RuntimeError("a route answered outside of its call")
        return answer

    # ---- serving ------------------------------------------------------------

    def _default_answer(self, call: Call) -> Answer:
        service = call.service
        if service in _REST_METHODS:
            return self._rest_answer(call, _REST_METHODS[service])
        if service == "CallRestApi":
            return self._call_rest_api_answer(call)
        if service == "GetDicomForInstance":
            data = self._dicom.get(_decode(call.argument))
            if data is None:
                return Answer(code=_UNKNOWN_RESOURCE)
            return Answer(body=data)
        for level, lookup in LOOKUPS.items():
            if service == lookup:
                found = self._lookups[level].get(_decode(call.argument))
                if found is None:
                    return Answer(code=_UNKNOWN_RESOURCE)
                return Answer(result=found)
        if service == "GetConfiguration":
            return Answer(result=json.dumps(self.configuration))
        if service == "GenerateRestApiAuthorizationToken":
            return Answer(result=self.token)
        return Answer()

    def _entry(self, method: str, uri: bytes | None) -> _RestEntry | None:
        text = _decode(uri)
        entry = self._rest.get((method, text))
        if entry is None:
            entry = self._rest.get((method, text.partition("?")[0]))
        return entry

    def _value(self, entry: _RestEntry, call: Call) -> bytes:
        value = entry.value
        if callable(value):
            value = value(call)
        if isinstance(value, (dict, list)):
            return json.dumps(value).encode("utf-8")
        return _bytes(value)

    def _rest_answer(self, call: Call, method: str) -> Answer:
        entry = self._entry(method, call.uri)
        if entry is None or entry.status != 200:
            return Answer(code=_UNKNOWN_RESOURCE)
        return Answer(body=self._value(entry, call))

    def _call_rest_api_answer(self, call: Call) -> Answer:
        method = next(
            name
            for name in _METHODS
            if call.method
            == getattr(self.lib, "OrthancPluginHttpMethod_" + name.title())
        )
        entry = self._entry(method, call.uri)
        if entry is None:
            # Orthanc 1.10: success, status 404, no body.
            return Answer(status=404)
        if entry.status != 200:
            return Answer(code=_UNKNOWN_RESOURCE)
        return Answer(
            body=self._value(entry, call),
            headers={"content-type": entry.content_type},
        )

    def _serve_register(self, call: Call, params: Any) -> int:
        p = self.ffi.cast("_OrthancPluginRestCallback *", params)
        call.uri = self._text(p.pathRegularExpression)
        regex = re.compile(_decode(call.uri))
        lock = call.service == "RegisterRestCallback"
        self._routes.append(_Route(regex, p.callback, lock))
        return 0

    def _serve_answer_buffer(self, call: Call, params: Any) -> int:
        p = self.ffi.cast("_OrthancPluginAnswerBuffer *", params)
        answer = self._route_answer(p.output)
        answer.status = 200
        answer.body = self.ffi.buffer(p.answer, p.answerSize)[:]
        answer.content_type = _decode(self._text(p.mimeType))
        return 0

    def _send_status(self, answer: RouteAnswer, status: int) -> int:
        if status not in _ORTHANC_STATUSES:
            answer.unanswered = True
            return int(ErrorCode.PARAMETER_OUT_OF_RANGE)
        answer.status = status
        return 0

    def _serve_send_status(self, call: Call, params: Any) -> int:
        p = self.ffi.cast("_OrthancPluginSendHttpStatus *", params)
        answer = self._route_answer(p.output)
        code = self._send_status(answer, p.status)
        if code == 0:
            answer.body = self.ffi.buffer(p.body, p.bodySize)[:]
        return code

    def _serve_send_status_code(self, call: Call, params: Any) -> int:
        p = self.ffi.cast("_OrthancPluginSendHttpStatusCode *", params)
        return self._send_status(self._route_answer(p.output), p.status)

    def _serve_set_header(self, call: Call, params: Any) -> int:
        p = self.ffi.cast("_OrthancPluginSetHttpHeader *", params)
        answer = self._route_answer(p.output)
        key = _decode(self._text(p.key)).lower()
        answer.headers[key] = _decode(self._text(p.value))
        return 0

    def _serve_output_argument(self, call: Call, params: Any) -> int:
        p = self.ffi.cast("_OrthancPluginOutputPlusArgument *", params)
        answer = self._route_answer(p.output)
        argument = _decode(self._text(p.argument))
        if call.service == "SendUnauthorized":
            answer.status = 401
            answer.headers["www-authenticate"] = f'Basic realm="{argument}"'
        elif call.service == "SendMethodNotAllowed":
            answer.status = 405
            answer.headers["allow"] = argument
        else:
            answer.status = 301
            answer.headers["location"] = argument
        return 0

    def _invoke(self, number: int, params: Any) -> int:
        name = _SERVICE_NAMES.get(number)
        handler = _ORTHANC_HANDLERS.get(name or "")
        if handler is None:
            return super()._invoke(number, params)
        call = Call(name or "")
        call.code = handler(self, call, params)
        with _lock:
            self.calls.append(call)
        return call.code


def _decode(data: bytes | None) -> str:
    return "" if data is None else data.decode("utf-8", "surrogateescape")


def _encode(text: str) -> bytes:
    # A decoded path may hold bytes that are not UTF-8 (%FF).
    return text.encode("utf-8", "surrogateescape")


_ORTHANC_HANDLERS: dict[str, Callable[[FakeOrthanc, Call, Any], int]] = {
    "RegisterRestCallback": FakeOrthanc._serve_register,
    "RegisterRestCallbackNoLock": FakeOrthanc._serve_register,
    "RegisterOnChangeCallback": FakeOrthanc._serve_void,
    "AnswerBuffer": FakeOrthanc._serve_answer_buffer,
    "SendHttpStatus": FakeOrthanc._serve_send_status,
    "SendHttpStatusCode": FakeOrthanc._serve_send_status_code,
    "SetHttpHeader": FakeOrthanc._serve_set_header,
    "SendUnauthorized": FakeOrthanc._serve_output_argument,
    "SendMethodNotAllowed": FakeOrthanc._serve_output_argument,
    "Redirect": FakeOrthanc._serve_output_argument,
}
