# SPDX-License-Identifier: GPL-3.0-or-later
"""pytest fixtures for Orthanc plugins (loaded by the package's entry point).

* ``orthanc_server`` (session): a real Orthanc running the plugin script
  that the ``orthanc_plugin`` fixture names, as an
  :class:`~orthanc_sdk.server.OrthancServer` (``get``, ``post``, ``put``,
  ``delete``, ``upload``, ``log()``).  By default ``orthanc_plugin`` reads
  the ini option ``orthanc_plugin`` (a path relative to the rootdir);
  ``orthanc_config`` (session, default ``{}``) adds configuration keys.
  Either fixture may be overridden in a ``conftest.py``.
* ``start_orthanc`` (function): a factory, ``start_orthanc(script,
  config=None, section=None)``, for tests that need their own server; each
  is stopped after the test.
* ``fake_orthanc`` (function): a :class:`~orthanc_sdk.testing.FakeOrthanc`,
  installed as :func:`orthanc_sdk.current_context`; the test fails if the
  code under test left a buffer or string unfreed.

Nothing is imported or started until a fixture is used: a run without
Orthanc installed fails only the tests that ask for a server, with the
Debian package to install.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..server import OrthancServer
    from .fakecore import FakeOrthanc

__all__ = [
    "fake_orthanc",
    "orthanc_config",
    "orthanc_plugin",
    "orthanc_server",
    "start_orthanc",
]

_INI = "orthanc_plugin"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the ini option ``orthanc_plugin``."""
    parser.addini(
        _INI,
        "the plugin script that the orthanc_server fixture runs (relative"
        " to the rootdir)",
        default="",
    )


def _start(
    script: str,
    config: dict[str, Any] | None,
    section: dict[str, Any] | None,
) -> OrthancServer:
    from ..server import OrthancStartError
    from .orthanc import plugin_server

    # pytest.fail outside the except blocks: the reason alone, without
    # the chained traceback.
    problem = None
    try:
        server = plugin_server(script, config=config, section=section)
        server.start()
    except (FileNotFoundError, OrthancStartError) as error:
        problem = f"orthanc_sdk: {error}"
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    return server


def _stop(server: OrthancServer) -> None:
    status = server.stop()
    if status != 0:
        pytest.fail(
            f"orthanc_sdk: Orthanc exited with status {status}; the end of"
            f" its log:\n{server.log()[-3000:]}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def orthanc_plugin(pytestconfig: pytest.Config) -> str:
    """The plugin script for ``orthanc_server``: the ini ``orthanc_plugin``."""
    value = str(pytestconfig.getini(_INI))
    if not value:
        pytest.fail(
            "orthanc_sdk: orthanc_server needs the plugin script: set"
            f" '{_INI} = plugin.py' in the [pytest] ini section (or"
            " [tool.pytest.ini_options]), or override the orthanc_plugin"
            " fixture in conftest.py",
            pytrace=False,
        )
    return os.path.join(str(pytestconfig.rootpath), value)


@pytest.fixture(scope="session")
def orthanc_config() -> dict[str, Any]:
    """Configuration keys for ``orthanc_server`` (none by default)."""
    return {}


@pytest.fixture(scope="session")
def orthanc_server(
    orthanc_plugin: str, orthanc_config: dict[str, Any]
) -> Iterator[OrthancServer]:
    """A real Orthanc running ``orthanc_plugin``, for the whole session."""
    server = _start(orthanc_plugin, orthanc_config, None)
    try:
        yield server
    finally:
        _stop(server)


@pytest.fixture
def start_orthanc() -> Iterator[Callable[..., OrthancServer]]:
    """Start Orthanc with a script: ``start_orthanc(script, config=...)``."""
    started: list[OrthancServer] = []

    def start(
        script: str | os.PathLike[str],
        config: dict[str, Any] | None = None,
        section: dict[str, Any] | None = None,
    ) -> OrthancServer:
        server = _start(os.fspath(script), config, section)
        started.append(server)
        return server

    yield start
    for server in started:
        _stop(server)


@pytest.fixture
def fake_orthanc() -> Iterator[FakeOrthanc]:
    """A FakeOrthanc, installed as ``current_context()``; checked after."""
    from .fakecore import FakeOrthanc

    fake = FakeOrthanc()
    fake.install()
    try:
        yield fake
        fake.check_clean()
    finally:
        fake.dispose()
