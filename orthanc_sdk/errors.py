"""Exceptions raised by ``orthanc_sdk``.

Every failure that Orthanc reports becomes an :class:`OrthancError` carrying
the code (``.code``), the SDK function that failed (``.function``) and the
core's own description of the code.  The codes that callers branch on have
subclasses that also derive from the matching builtin, so
``except KeyError`` catches an unknown resource.  :func:`check` is called on
the line right after every C call.
"""

from __future__ import annotations

from typing import Any

from ._orthanc_sdk_cffi import ffi, lib
from .enums import ErrorCode

__all__ = [
    "BadFileFormatError",
    "BadRequestError",
    "ContextClosedError",
    "InexistentItemError",
    "NotReadyError",
    "OrthancError",
    "UnauthorizedError",
    "UnknownResourceError",
    "check",
    "error_class",
]


class OrthancError(Exception):
    """An SDK call answered an error code.

    Attributes:
        code: the :class:`ErrorCode`, or a plain ``int`` for a code that this
            build of the library does not know (a newer core).
        function: name of the SDK function that failed, e.g.
            ``"OrthancPluginRestApiGet"``.
        description: the core's description of the code.
        detail: what was being done (e.g. the URI), or ``""``.
    """

    def __init__(
        self,
        code: ErrorCode | int,
        function: str = "",
        description: str = "",
        detail: str = "",
    ) -> None:
        self.code = _as_code(code)
        self.function = function
        self.description = description or _describe(self.code)
        self.detail = detail
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The text of the exception."""
        name = (
            self.code.name
            if isinstance(self.code, ErrorCode)
            else f"code {int(self.code)}, unknown to this build"
        )
        where = f"{self.function}: " if self.function else ""
        what = f" ({self.detail})" if self.detail else ""
        text = f"{where}{self.description} [{name}]{what}"
        if self.code == ErrorCode.DATABASE_NOT_INITIALIZED:
            text += (
                "; the database is not available: Orthanc has not finished"
                " starting (call the SDK from a callback, or once"
                " ChangeType.ORTHANC_STARTED has arrived) or is stopping"
            )
        return text

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (
            type(self),
            (int(self.code), self.function, self.description, self.detail),
        )


class UnknownResourceError(OrthancError, KeyError):
    """The resource does not exist (HTTP 404 on the REST API)."""


class InexistentItemError(OrthancError, LookupError):
    """An item that the call names does not exist."""


class BadRequestError(OrthancError, ValueError):
    """The request was malformed (HTTP 400 on the REST API)."""


class BadFileFormatError(OrthancError, ValueError):
    """The data is not in the expected format (e.g. a body not DICOM)."""


class UnauthorizedError(OrthancError, PermissionError):
    """Access was refused (HTTP 401 or 403 on the REST API)."""


class NotReadyError(OrthancError):
    """The database is not available yet, or any more.

    The core answers ``DATABASE_NOT_INITIALIZED`` while it starts (during
    the plugin's ``initialize``) and again while it stops.
    """


class ContextClosedError(RuntimeError):
    """Orthanc is stopping: the plugin can no longer call the SDK.

    Raised from ``ChangeType.ORTHANC_STOPPED`` on; threads that the plugin
    started should take it as the signal to end.
    """


_CLASSES: dict[int, type[OrthancError]] = {
    ErrorCode.UNKNOWN_RESOURCE: UnknownResourceError,
    ErrorCode.INEXISTENT_ITEM: InexistentItemError,
    ErrorCode.BAD_REQUEST: BadRequestError,
    ErrorCode.URI_SYNTAX: BadRequestError,
    ErrorCode.BAD_JSON: BadRequestError,
    ErrorCode.PARAMETER_OUT_OF_RANGE: BadRequestError,
    ErrorCode.BAD_FILE_FORMAT: BadFileFormatError,
    ErrorCode.UNAUTHORIZED: UnauthorizedError,
    ErrorCode.DATABASE_NOT_INITIALIZED: NotReadyError,
}


def error_class(code: int) -> type[OrthancError]:
    """The exception class that :func:`check` raises for ``code``."""
    return _CLASSES.get(code, OrthancError)


def _as_code(code: int) -> ErrorCode | int:
    try:
        return ErrorCode(code)
    except ValueError:
        return int(code)


def _describe(code: ErrorCode | int) -> str:
    if isinstance(code, ErrorCode):
        return code.name.replace("_", " ").capitalize()
    return "Error code unknown to this build of orthanc_sdk"


def check(
    code: int, function: str, detail: str = "", *, context: Any = None
) -> None:
    """Raise the matching :class:`OrthancError` unless ``code`` is success.

    Args:
        code: what the SDK function returned.
        function: the SDK function's C name, for the message.
        detail: what was asked (a URI, an identifier), for the message.
        context: the ``OrthancPluginContext *`` whose core describes the code.
    """
    if code == 0:
        return
    description = ""
    if context is not None:
        text = lib.OrthancPluginGetErrorDescription(context, code)
        if text != ffi.NULL:
            description = ffi.string(text).decode("utf-8", "replace")
    raise error_class(code)(code, function, description, detail)
