# SPDX-License-Identifier: GPL-3.0-or-later
"""The fake core of ``orthanc_sdk.testing``, as the unit tests load it.

Test modules load the ``core`` fixture with ``pytest_plugins =
("fakecore",)`` and import :class:`FakeCore`, :class:`Answer` and
:class:`Call` from here; all of it lives in
:mod:`orthanc_sdk.testing.fakecore` (built with the package).  Test
modules import this one before pytest loads it as a plugin, too late for
assert rewriting: PYTEST_DONT_REWRITE.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orthanc_sdk.testing.fakecore import (
    POISON,
    SERVICES,
    Answer,
    Call,
    FakeCore,
    FakeOrthanc,
    RouteAnswer,
    load,
)

__all__ = [
    "POISON",
    "SERVICES",
    "Answer",
    "Call",
    "FakeCore",
    "FakeOrthanc",
    "RouteAnswer",
    "core",
    "load",
]


@pytest.fixture
def core() -> Iterator[FakeCore]:
    """A fresh fake core and its Context; checks all memory came back."""
    with FakeCore() as fake:
        yield fake
