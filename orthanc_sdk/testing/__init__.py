# SPDX-License-Identifier: GPL-3.0-or-later
"""Test helpers for Orthanc plugins written with orthanc_sdk.

Two ways to test a plugin:

* against a real Orthanc: :func:`plugin_server` runs the installed Orthanc
  with the shim and a plugin script (an
  :class:`~orthanc_sdk.server.OrthancServer`, with a small HTTP client), and
  :func:`upload_dicom` stores DICOM files in it;
* against a fake core, in the test's own process: :class:`FakeOrthanc`
  gives a :class:`~orthanc_sdk.Context` that answers from data the test
  provides and reports every buffer or string left unfreed.

With pytest, the fixtures ``orthanc_server``, ``start_orthanc`` and
``fake_orthanc`` come with the package (``orthanc_sdk.testing.pytest_plugin``,
loaded by its entry point); nothing here needs pytest otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fakecore import Answer, Call, FakeCore, FakeOrthanc, RouteAnswer
    from .orthanc import plugin_server, upload_dicom

__all__ = [
    "Answer",
    "Call",
    "FakeCore",
    "FakeOrthanc",
    "RouteAnswer",
    "plugin_server",
    "upload_dicom",
]

_WHERE = {
    "Answer": "fakecore",
    "Call": "fakecore",
    "FakeCore": "fakecore",
    "FakeOrthanc": "fakecore",
    "RouteAnswer": "fakecore",
    "plugin_server": "orthanc",
    "upload_dicom": "orthanc",
}


def __getattr__(name: str) -> Any:
    # Imported on first use: the pytest plugin, loaded in every pytest run
    # of the environment, imports this package and must stay cheap.
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)
