# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmarks over the fake core (no Orthanc), with pytest-benchmark.

Run ``.venv/bin/pytest benchmarks`` for figures, or with
``--benchmark-disable`` to run each benchmark once (what CI does, through
``scripts/bench.sh --quick``).  The figures are per call of the Python
tier over the fake core of ``tests/fakecore.py``, whose own Python code
answers each call: compare a ``Context`` method with its C-tier twin
(``c_tier_*``) to see what the Python tier adds.
"""

import collections
import os
import sys
from collections.abc import Iterator

import pytest

import orthanc_sdk

HERE = os.path.dirname(os.path.abspath(__file__))
# Like the tests: the installed package, never the source tree.
if os.path.dirname(os.path.dirname(orthanc_sdk.__file__)) == os.path.dirname(
    HERE
):
    raise RuntimeError(
        "orthanc_sdk was imported from the source tree; run the benchmarks"
        " with the venv's pytest script"
    )
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from fakecore import FakeCore  # noqa: E402


@pytest.fixture
def core() -> Iterator[FakeCore]:
    """A fresh fake core that keeps only its last calls.

    The benchmarks call it hundreds of thousands of times: the full record
    of every call would grow without bound.  Teardown checks, as for the
    tests, that every block came back and none was freed twice.
    """
    with FakeCore() as fake:
        fake.calls = collections.deque(maxlen=16)
        yield fake
