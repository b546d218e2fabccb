# SPDX-License-Identifier: GPL-3.0-or-later
"""A fake Orthanc core: a test double for ``InvokeService`` and ``Free``.

The fake is its own cffi module, compiled against the SDK header once per
test session (into a temporary folder, deleted once the module is loaded).
Its parameter structs are declared partially (``...;``) and its service
numbers as ``= ...``, so what it reads is laid out exactly as the header says,
never as a second hand-written copy of the protocol.

A :class:`FakeCore` owns an ``OrthancPluginContext`` whose ``InvokeService``
and ``Free`` are ``extern "Python"`` callbacks of that module, and wraps it
in an ``orthanc_sdk.Context``.  It

* records every call (:attr:`FakeCore.calls`): the service's name and the
  decoded contents of its parameter struct;
* answers as each test programs it (:meth:`FakeCore.answer`), with memory it
  allocates with ``malloc``;
* counts every allocation and every ``Free``; a ``Free`` of memory it did not
  allocate, or already freed, is recorded as a double free, not performed.

Freed memory is overwritten before it goes back to ``malloc``, so a read of
memory that the binding gave back shows up as :data:`POISON` bytes.

The :func:`core` fixture yields a fresh FakeCore and, at teardown, checks
that nothing is outstanding and nothing was freed twice.  Test modules load
it with ``pytest_plugins = ("fakecore",)``; they import this module first,
too late for pytest to rewrite its asserts, hence PYTEST_DONT_REWRITE (and
explicit ``pytest.fail`` messages instead of bare asserts).
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import cffi
import pytest

import orthanc_sdk

__all__ = ["POISON", "Answer", "Call", "FakeCore", "core", "load"]

#: What freed memory is overwritten with.
POISON = 0xDD

# The services the fake core answers; any other is refused the way Orthanc
# refuses a service it does not know (UnknownPluginService).
SERVICES = (
    "LogInfo",
    "LogWarning",
    "LogError",
    "GetConfiguration",
    "GetGlobalProperty",
    "SetGlobalProperty",
    "GetErrorDescription",
    "GenerateRestApiAuthorizationToken",
    "GetDicomForInstance",
    "RestApiGet",
    "RestApiGetAfterPlugins",
    "RestApiGet2",
    "RestApiPost",
    "RestApiPostAfterPlugins",
    "RestApiPut",
    "RestApiPutAfterPlugins",
    "RestApiDelete",
    "RestApiDeleteAfterPlugins",
    "CallRestApi",
    "LookupPatient",
    "LookupStudy",
    "LookupStudyWithAccessionNumber",
    "LookupSeries",
    "LookupInstance",
)

_SERVICE_ENUM = "\n".join(
    f"    _OrthancPluginService_{name} = ...," for name in SERVICES
)

CDEF = (
    r"""
#define ORTHANC_PLUGINS_MINIMAL_MAJOR_NUMBER ...
#define ORTHANC_PLUGINS_MINIMAL_MINOR_NUMBER ...
#define ORTHANC_PLUGINS_MINIMAL_REVISION_NUMBER ...

typedef enum {
    OrthancPluginErrorCode_InternalError = ...,
    OrthancPluginErrorCode_Success = ...,
    OrthancPluginErrorCode_UnknownPluginService = ...,
    ...
} OrthancPluginErrorCode;

typedef enum {
    OrthancPluginHttpMethod_Get = ...,
    OrthancPluginHttpMethod_Post = ...,
    OrthancPluginHttpMethod_Put = ...,
    OrthancPluginHttpMethod_Delete = ...,
    ...
} OrthancPluginHttpMethod;

typedef enum {
"""
    + _SERVICE_ENUM
    + r"""
    ...
} _OrthancPluginService;

typedef struct {
    void *data;
    uint32_t size;
    ...;
} OrthancPluginMemoryBuffer;

typedef struct _OrthancPluginContext_t {
    void *pluginsManager;
    const char *orthancVersion;
    void (*Free)(void *buffer);
    OrthancPluginErrorCode (*InvokeService)(
        struct _OrthancPluginContext_t *context,
        _OrthancPluginService service,
        const void *params);
    ...;
} OrthancPluginContext;

typedef struct {
    const char **target;
    OrthancPluginErrorCode error;
    ...;
} _OrthancPluginGetErrorDescription;

typedef struct {
    char **result;
    const char *argument;
    ...;
} _OrthancPluginRetrieveDynamicString;

typedef struct {
    char **result;
    int32_t property;
    const char *value;
    ...;
} _OrthancPluginGlobalProperty;

typedef struct {
    OrthancPluginMemoryBuffer *target;
    const char *instanceId;
    ...;
} _OrthancPluginGetDicomForInstance;

typedef struct {
    OrthancPluginMemoryBuffer *target;
    const char *uri;
    ...;
} _OrthancPluginRestApiGet;

typedef struct {
    OrthancPluginMemoryBuffer *target;
    const char *uri;
    uint32_t headersCount;
    const char *const *headersKeys;
    const char *const *headersValues;
    int32_t afterPlugins;
    ...;
} _OrthancPluginRestApiGet2;

typedef struct {
    OrthancPluginMemoryBuffer *target;
    const char *uri;
    const void *body;
    uint32_t bodySize;
    ...;
} _OrthancPluginRestApiPostPut;

typedef struct {
    OrthancPluginMemoryBuffer *answerBody;
    OrthancPluginMemoryBuffer *answerHeaders;
    uint16_t *httpStatus;
    OrthancPluginHttpMethod method;
    const char *uri;
    uint32_t headersCount;
    const char *const *headersKeys;
    const char *const *headersValues;
    const void *body;
    uint32_t bodySize;
    uint8_t afterPlugins;
    ...;
} _OrthancPluginCallRestApi;

void *malloc(size_t size);
void free(void *pointer);

extern "Python" OrthancPluginErrorCode _fakecore_invoke_service(
    OrthancPluginContext *context,
    _OrthancPluginService service,
    const void *params);
extern "Python" void _fakecore_free(void *pointer);
"""
)

SOURCE = r"""
#include <stdlib.h>
#include <orthanc/OrthancCPlugin.h>
"""


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


Responder = Answer | Callable[[Call], Answer]

# ---- the compiled module ------------------------------------------------

_module: ModuleType | None = None
_load_lock = threading.Lock()

# Shared by every FakeCore: Free carries no context, so an allocation is
# found by its address.  Re-entrant: a Buffer collected while the lock is
# held frees itself through Free on the same thread.
_lock = threading.RLock()
_owners: dict[int, tuple[FakeCore, int]] = {}  # address: (core, size)
_freed: set[int] = set()
_cores: dict[int, FakeCore] = {}  # context address: core
_active: list[FakeCore] = []
# Error descriptions are static strings in the core: never freed.
_descriptions: dict[bytes, Any] = {}
# Service number (the header's) to name, filled by load().
_SERVICE_NAMES: dict[int, str] = {}


def _compile() -> ModuleType:
    builder = cffi.FFI()
    builder.cdef(CDEF)
    extra = os.environ.get("ORTHANC_SDK_INCLUDE_DIR")
    builder.set_source(
        "_fakecore_cffi", SOURCE, include_dirs=[extra] if extra else []
    )
    with tempfile.TemporaryDirectory(prefix="fakecore-") as folder:
        path = builder.compile(tmpdir=folder)
        spec = importlib.util.spec_from_file_location("_fakecore_cffi", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load the fake core from {path}")
        module = importlib.util.module_from_spec(spec)
        # Once loaded, the shared object may go: the mapping stays.
        spec.loader.exec_module(module)
    return module


def load() -> tuple[Any, Any]:
    """The fake core's ``(ffi, lib)``, compiled on first use."""
    global _module
    with _load_lock:
        if _module is None:
            module = _compile()
            _SERVICE_NAMES.update(
                {
                    getattr(module.lib, "_OrthancPluginService_" + name): name
                    for name in SERVICES
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


def _register_callbacks(ffi: Any, lib: Any) -> None:
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
            return lib.OrthancPluginErrorCode_InternalError
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
            fake, size = owner
            _freed.add(address)
            fake._live.discard(address)
            fake.frees += 1
            fake.freed.append(address)
        ffi.memmove(pointer, bytes([POISON]) * size, size)
        lib.free(pointer)


# ---- the fake core ------------------------------------------------------


def _bytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


class FakeCore:
    """One fake Orthanc core with its context.

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
        #: Copy request bodies into Call.body; off, only their address and
        #: size are recorded (for bodies too large to copy).
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
        self.context = orthanc_sdk.Context(self.address)

    def __repr__(self) -> str:
        return (
            f"<FakeCore {len(self.calls)} calls, {self.outstanding()}"
            " outstanding>"
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
        return getattr(self.lib, "_OrthancPluginService_" + name)

    def answer(
        self,
        service: str,
        respond: Responder | None = None,
        **fields: Any,
    ) -> None:
        """Program the answers to ``service`` (e.g. ``"RestApiGet"``).

        Either an :class:`Answer`, a function from the :class:`Call` to an
        Answer (for answers that depend on the request), or the Answer's
        fields as keywords.
        """
        if service not in SERVICES:
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
        """The one call made (optionally checking its service)."""
        if len(self.calls) != 1:
            pytest.fail(f"expected one call, got {self.services()}")
        if service is not None and self.calls[0].service != service:
            pytest.fail(f"expected {service}, got {self.calls[0].service}")
        return self.calls[0]

    # ---- accounting -----------------------------------------------------

    def outstanding(self) -> int:
        """How many blocks this core allocated that are not freed yet."""
        with _lock:
            return len(self._live)

    def double_frees(self) -> list[tuple[int, str]]:
        """``(address, what)`` of every bad ``Free`` while this core lived."""
        with _lock:
            return list(self._double_frees)

    def check_clean(self) -> None:
        """Fail unless: no error in the fake, no double free, nothing left.

        A Buffer caught in a reference cycle is freed by the collector, so
        outstanding memory is counted again after ``gc.collect()`` (only
        then: a full collection costs tens of milliseconds).
        """
        if self.outstanding():
            gc.collect()
        if self.callback_errors:
            pytest.fail(
                "the fake core failed:\n" + "\n".join(self.callback_errors)
            )
        if self.double_frees():
            pytest.fail(f"bad Free calls: {self.double_frees()}")
        if self.outstanding():
            pytest.fail(f"{self.outstanding()} blocks were never given back")

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
        """Close the context and stop serving it."""
        self.context.close(timeout=1.0)
        with _lock:
            _cores.pop(self.address, None)
            if self in _active:
                _active.remove(self)

    # ---- memory ---------------------------------------------------------

    def _allocate(self, data: bytes, *, terminate: bool = False) -> Any:
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
            _owners[address] = (self, size)
            _freed.discard(address)
            self._live.add(address)
            self.allocations += 1
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
        pointer = self._allocate(data)
        target.data = pointer
        target.size = len(data)
        call.allocated.append(int(self.ffi.cast("uintptr_t", pointer)))

    def _string(self, call: Call, result: Any, text: Any) -> None:
        """Write a string answer into a ``char **``."""
        if text is None:
            result[0] = self.ffi.NULL
            return
        pointer = self._allocate(_bytes(text), terminate=True)
        result[0] = self.ffi.cast("char *", pointer)
        call.allocated.append(int(self.ffi.cast("uintptr_t", pointer)))

    # ---- serving --------------------------------------------------------

    def _text(self, pointer: Any) -> bytes | None:
        return None if pointer == self.ffi.NULL else self.ffi.string(pointer)

    def _headers(self, count: int, keys: Any, values: Any) -> list:
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
        respond = self._answers.get(call.service, Answer())
        return respond if isinstance(respond, Answer) else respond(call)

    def _invoke(self, number: int, params: Any) -> int:
        name = _SERVICE_NAMES.get(number)
        if name is None:
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
                    call.error, f"fake core: error {call.error}"
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
                text = self.properties.get(call.property, call.value)
            self._string(call, p.result, text)
        return answer.code

    def _serve_set_property(self, call: Call, params: Any) -> int:
        p = self.ffi.cast("_OrthancPluginGlobalProperty *", params)
        call.property = p.property
        call.value = self._text(p.value)
        answer = self._respond(call)
        if answer.code == 0:
            self.properties[call.property] = call.value or b""
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
                headers = json.dumps(dict(headers))
            self._fill(call, p.answerHeaders, headers)
        if answer.code == 0:
            p.httpStatus[0] = answer.status
        return answer.code

    def _answer_target(self, call: Call, target: Any) -> int:
        answer = self._respond(call)
        if answer.code == 0 or answer.fill_on_error:
            self._fill(call, target, answer.body)
        return answer.code


_HANDLERS: dict[str, Callable[[FakeCore, Call, Any], int]] = {
    "LogInfo": FakeCore._serve_log,
    "LogWarning": FakeCore._serve_log,
    "LogError": FakeCore._serve_log,
    "GetConfiguration": FakeCore._serve_string,
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


@pytest.fixture
def core() -> Iterator[FakeCore]:
    """A fresh fake core and its Context; checks all memory came back."""
    with FakeCore() as fake:
        yield fake
