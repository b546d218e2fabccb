# SPDX-License-Identifier: GPL-3.0-or-later
"""Turning a Buffer into a memoryview, bytes and a numpy array.

The Buffers wrap memory that the benchmark owns (no releaser), so only the
conversion is timed, not the fake core's allocation of the answer.  The
zero-copy conversions should cost the same at 1 KiB and at 100 MiB; the
copy grows with the size.
"""

from collections.abc import Iterator

import numpy as np
import pytest

from orthanc_sdk import Buffer, ffi

SIZES = {"1KiB": 1024, "1MiB": 1024**2, "100MiB": 100 * 1024**2}


@pytest.fixture(scope="module", params=sorted(SIZES, key=SIZES.get))
def memory(request) -> Iterator[bytearray]:
    """Memory standing for an answer of Orthanc, pattern-filled."""
    size = SIZES[request.param]
    data = bytearray(size)
    data[::4096] = b"\x5a" * len(range(0, size, 4096))
    data[-1] = 0xA5
    yield data


def _buffer(memory: bytearray) -> Buffer:
    pointer = ffi.from_buffer(memory)
    buffer = Buffer()
    buffer._attach(int(ffi.cast("uintptr_t", pointer)), len(memory), None)
    return buffer


def test_memoryview(benchmark, memory: bytearray) -> None:
    buffer = _buffer(memory)

    def convert() -> int:
        with memoryview(buffer) as view:
            return view.nbytes

    assert benchmark(convert) == len(memory)
    assert buffer.exports == 0


def test_numpy_view(benchmark, memory: bytearray) -> None:
    buffer = _buffer(memory)

    def convert() -> np.ndarray:
        return np.frombuffer(buffer, dtype=np.uint8)

    array = benchmark(convert)
    assert array.size == len(memory)
    assert array.ctypes.data == buffer.address  # a view, not a copy
    assert array[-1] == 0xA5
    del array


def test_bytes(benchmark, memory: bytearray) -> None:
    buffer = _buffer(memory)

    copy = benchmark(bytes, buffer)
    assert len(copy) == len(memory)
    assert copy[0] == 0x5A and copy[-1] == 0xA5
    assert buffer.exports == 0


def test_read_fully(benchmark, memory: bytearray) -> None:
    """Every byte read through a numpy view: what analysis code does."""
    buffer = _buffer(memory)
    expected = int(np.frombuffer(memory, dtype=np.uint8).sum())

    def read() -> int:
        return int(np.frombuffer(buffer, dtype=np.uint8).sum(dtype=np.uint64))

    assert benchmark(read) == expected
