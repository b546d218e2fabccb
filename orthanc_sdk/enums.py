"""The SDK's enums as Python ``IntEnum`` classes.

Values come from the compiled module, that is from the SDK header itself;
names are the C names without their prefix, in upper snake case
(``OrthancPluginErrorCode_UnknownResource`` is ``ErrorCode.UNKNOWN_RESOURCE``).
"""

from __future__ import annotations

import enum
import re

from ._orthanc_sdk_cffi import lib

__all__ = ["ChangeType", "ErrorCode", "HttpMethod", "ResourceType"]

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _snake(camel: str) -> str:
    # "SQLite" is one word, not "SQ" + "Lite".
    camel = camel.replace("SQLite", "Sqlite")
    return _WORD_BOUNDARY.sub("_", camel).upper()


def _members(prefix: str) -> dict[str, int]:
    return {
        _snake(name[len(prefix) :]): getattr(lib, name)
        for name in dir(lib)
        if name.startswith(prefix)
    }


ErrorCode = enum.IntEnum(  # type: ignore[misc]
    "ErrorCode",
    sorted(_members("OrthancPluginErrorCode_").items(), key=lambda m: m[1]),
    module=__name__,
)
ErrorCode.__doc__ = (
    "``OrthancPluginErrorCode``: every code of the SDK this module was built"
    " against.  Newer cores may answer codes not listed here; the library"
    " then reports the plain integer."
)

HttpMethod = enum.IntEnum(  # type: ignore[misc]
    "HttpMethod",
    sorted(_members("OrthancPluginHttpMethod_").items(), key=lambda m: m[1]),
    module=__name__,
)
HttpMethod.__doc__ = "``OrthancPluginHttpMethod``: GET, POST, PUT, DELETE."

ResourceType = enum.IntEnum(  # type: ignore[misc]
    "ResourceType",
    sorted(_members("OrthancPluginResourceType_").items(), key=lambda m: m[1]),
    module=__name__,
)
ResourceType.__doc__ = "``OrthancPluginResourceType``: patient to instance."

ChangeType = enum.IntEnum(  # type: ignore[misc]
    "ChangeType",
    sorted(_members("OrthancPluginChangeType_").items(), key=lambda m: m[1]),
    module=__name__,
)
ChangeType.__doc__ = "``OrthancPluginChangeType``: what an on-change event is."
