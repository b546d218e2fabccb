"""orthanc_sdk: write Orthanc plugins in Python.

Two tiers:

* the C tier, ``orthanc_sdk.ffi`` and ``orthanc_sdk.lib``: the SDK's own
  functions under their C names and signatures, compiled against
  ``OrthancCPlugin.h`` (``lib.OrthancPluginRestApiGet(ctx, buf, b"/system")``);
* the Python tier, :class:`Context` and friends: the same calls with Python
  types, automatic freeing, zero-copy :class:`Buffer` answers and exceptions.

Inside Orthanc, the shim plugin (``python -m orthanc_sdk plugin-path``) runs a
script and calls its ``initialize(context)``; :func:`current_context` returns
the same :class:`Context` anywhere in the plugin.
"""

from __future__ import annotations

import os
import sysconfig

try:
    from ._orthanc_sdk_cffi import lib as _lib  # noqa: F401
except ModuleNotFoundError as error:
    # A Python started in the clone finds the source tree first.
    raise ImportError(
        "orthanc_sdk was imported from a folder without its compiled"
        f" modules ({os.path.dirname(os.path.abspath(__file__))}), such as"
        " the source tree, which shadows the installed package: run Python"
        " from another folder (bash scripts/setup.sh installs the package"
        " if it is not installed yet)"
    ) from error

from ._host import current_context
from ._orthanc_sdk_cffi import ffi, lib
from .buffers import Buffer
from .callbacks import Request, Response
from .context import Context, RestResponse
from .enums import ChangeType, ErrorCode, HttpMethod, ResourceType
from .errors import (
    BadFileFormatError,
    BadRequestError,
    ContextClosedError,
    InexistentItemError,
    NotReadyError,
    OrthancError,
    UnauthorizedError,
    UnknownResourceError,
)

__version__ = "0.1.0"

#: The SDK version (``ORTHANC_PLUGINS_MINIMAL_*``) this build was compiled
#: against; the shim refuses older Orthanc cores.
SDK_VERSION: tuple[int, int, int] = (
    lib.ORTHANC_PLUGINS_MINIMAL_MAJOR_NUMBER,
    lib.ORTHANC_PLUGINS_MINIMAL_MINOR_NUMBER,
    lib.ORTHANC_PLUGINS_MINIMAL_REVISION_NUMBER,
)


def plugin_path() -> str:
    """Absolute path of the shim plugin to list in Orthanc's "Plugins"."""
    name = "libOrthancSdkShim" + sysconfig.get_config_var("EXT_SUFFIX")
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), name)


__all__ = [
    "SDK_VERSION",
    "BadFileFormatError",
    "BadRequestError",
    "Buffer",
    "ChangeType",
    "Context",
    "ContextClosedError",
    "ErrorCode",
    "HttpMethod",
    "InexistentItemError",
    "NotReadyError",
    "OrthancError",
    "Request",
    "ResourceType",
    "Response",
    "RestResponse",
    "UnauthorizedError",
    "UnknownResourceError",
    "current_context",
    "ffi",
    "lib",
    "plugin_path",
]
