# SPDX-License-Identifier: GPL-3.0-or-later
"""Buffer lifetime: zero copy, views, release, ``with``, collection, close.

Every Buffer here comes from a real SDK call into the fake core, which
counts the blocks it allocates and the ``Free`` calls it receives, and
overwrites freed memory: "the memory stays valid" is checked by reading
the expected bytes through a view after a refused release.
"""

import gc
import sys
import weakref

import numpy as np
import pytest

from orthanc_sdk import Buffer, ContextClosedError, ffi

pytest_plugins = ("fakecore",)

PAYLOAD = b'{"ID": "f00d", "Tags": [1, 2, 3]}'


def _get(core) -> Buffer:
    """A fresh Buffer holding PAYLOAD, from RestApiGet.

    Not a fixture: pytest would keep a reference to it until teardown.
    """
    core.answer("RestApiGet", body=PAYLOAD)
    return core.context.rest_api_get("/answer")


def _allocated(core) -> int:
    return core.calls[-1].allocated[0]


# ---- zero copy ----------------------------------------------------------


def test_memoryview_is_the_core_memory(core) -> None:
    answer = _get(core)
    with memoryview(answer) as view:
        assert view.readonly
        assert view.nbytes == len(PAYLOAD)
        assert view.tobytes() == PAYLOAD
        pointer = ffi.from_buffer(view)
        assert int(ffi.cast("uintptr_t", pointer)) == _allocated(core)
        del pointer
    assert answer.address == _allocated(core)


def test_numpy_view_keeps_the_memory(core) -> None:
    """An array made from a Buffer outlives the name; memory stays."""
    answer = _get(core)
    array = np.frombuffer(answer, dtype=np.uint8)
    assert array.ctypes.data == _allocated(core)

    del answer
    gc.collect()

    assert core.frees == 0
    assert array.tobytes() == PAYLOAD
    del array
    gc.collect()
    assert core.frees == 1


def test_view_keeps_the_buffer_alive(core) -> None:
    answer = _get(core)
    view = memoryview(answer)
    owner = weakref.ref(answer)

    del answer
    gc.collect()

    assert owner() is not None
    assert core.frees == 0
    assert view.tobytes() == PAYLOAD
    view.release()
    assert owner() is None
    assert core.frees == 1


def test_views_are_counted(core) -> None:
    answer = _get(core)
    baseline = sys.getrefcount(answer)

    view = memoryview(answer)

    assert answer.exports == 1
    assert sys.getrefcount(answer) == baseline + 1
    view.release()
    assert answer.exports == 0
    assert sys.getrefcount(answer) == baseline


# ---- release ------------------------------------------------------------


def test_release_with_a_live_view_refuses(core) -> None:
    """BufferError, and the memory stays valid until the view goes."""
    answer = _get(core)
    view = memoryview(answer)

    with pytest.raises(BufferError, match="view"):
        answer.release()

    assert not answer.released
    assert core.frees == 0
    assert view.tobytes() == PAYLOAD
    view.release()
    answer.release()
    assert answer.released
    assert core.freed == [core.calls[0].allocated[0]]


def test_release_with_a_live_array_refuses(core) -> None:
    answer = _get(core)
    array = np.frombuffer(answer, dtype=np.uint8)

    with pytest.raises(BufferError):
        answer.release()

    assert array.tobytes() == PAYLOAD
    del array
    answer.release()
    assert core.frees == 1


def test_release_twice_is_a_no_op(core) -> None:
    answer = _get(core)
    answer.release()
    answer.release()

    assert core.frees == 1
    assert core.double_frees() == []


# ---- with ---------------------------------------------------------------


def test_with_frees(core) -> None:
    answer = _get(core)
    with answer as same:
        assert same is answer
        assert same == PAYLOAD

    assert answer.released
    assert core.frees == 1


def test_with_frees_when_the_body_raises(core) -> None:
    answer = _get(core)
    with pytest.raises(RuntimeError, match="inside"):
        with answer:
            raise RuntimeError("inside")

    assert answer.released
    assert core.frees == 1


def test_with_and_a_live_view_keeps_the_memory(core) -> None:
    """Leaving ``with`` while a view lives raises; nothing is freed."""
    answer = _get(core)
    with pytest.raises(BufferError):
        with answer:
            view = memoryview(answer)

    assert core.frees == 0
    assert view.tobytes() == PAYLOAD
    view.release()
    answer.release()
    assert core.frees == 1


def test_with_a_live_view_keeps_the_block_exception(core) -> None:
    """The block's own exception wins over the BufferError; freed later."""
    answer = _get(core)
    with pytest.raises(KeyError, match="from the block"):
        with answer:
            view = memoryview(answer)
            raise KeyError("from the block")

    assert core.frees == 0
    assert view.tobytes() == PAYLOAD
    view.release()
    del answer
    gc.collect()
    assert core.frees == 1


# ---- garbage collection -------------------------------------------------


def test_del_frees(core) -> None:
    """No hidden reference: the name is the only owner."""
    answer = _get(core)
    # One for the name, one for getrefcount's argument.
    assert sys.getrefcount(answer) == 2
    owner = weakref.ref(answer)

    del answer

    assert owner() is None
    assert core.frees == 1


def test_collecting_a_cycle_frees(core) -> None:
    answer = _get(core)
    holder = [answer]
    holder.append(holder)
    owner = weakref.ref(answer)
    del answer, holder
    assert owner() is not None

    gc.collect()

    assert owner() is None
    assert core.frees == 1


# ---- the Buffer's own API -----------------------------------------------


def test_len_bytes_text_json(core) -> None:
    answer = _get(core)
    assert len(answer) == len(PAYLOAD)
    assert answer.nbytes == len(PAYLOAD)
    assert bytes(answer) == PAYLOAD
    assert answer.text == PAYLOAD.decode()
    assert answer.json() == {"ID": "f00d", "Tags": [1, 2, 3]}
    assert repr(answer) == f"<orthanc_sdk.Buffer {len(PAYLOAD)} bytes>"


def test_equality(core) -> None:
    answer = _get(core)
    assert answer == PAYLOAD
    assert answer == bytearray(PAYLOAD)
    assert answer == memoryview(PAYLOAD)
    assert answer != PAYLOAD + b" "
    assert answer != PAYLOAD.decode()
    assert answer != 1
    with pytest.raises(TypeError):
        hash(answer)


def test_bytes_is_a_copy(core) -> None:
    answer = _get(core)
    copy = bytes(answer)

    answer.release()

    assert copy == PAYLOAD


def test_text_is_strict_utf8(core) -> None:
    core.answer("RestApiGet", body=b"\xff")

    with core.context.rest_api_get("/latin1") as answer:
        with pytest.raises(UnicodeDecodeError):
            answer.text  # noqa: B018 (the property is the call)


def test_empty_answer(core) -> None:
    """NULL, 0 from the core: an empty Buffer; memoryview still works."""
    core.answer("RestApiGet", body=None)

    answer = core.context.rest_api_get("/empty")

    assert len(answer) == 0
    assert answer.address == 0
    with memoryview(answer) as view:
        assert view.nbytes == 0
        assert view.tobytes() == b""
    assert bytes(answer) == b""
    assert answer == b""
    answer.release()
    assert core.allocations == 0
    assert core.frees == 0
    assert core.null_frees == 0


def test_unattached_buffer_is_empty() -> None:
    """What RestResponse holds by default: empty, nothing to give back."""
    empty = Buffer()

    assert len(empty) == 0
    assert bytes(empty) == b""
    empty.release()
    assert empty.released


# ---- after release ------------------------------------------------------

AFTER_RELEASE = [
    pytest.param(memoryview, id="memoryview"),
    pytest.param(bytes, id="bytes"),
    pytest.param(len, id="len"),
    pytest.param(bool, id="bool"),
    pytest.param(lambda b: b.text, id="text"),
    pytest.param(lambda b: b.json(), id="json"),
    pytest.param(lambda b: b == PAYLOAD, id="eq"),
    pytest.param(lambda b: np.frombuffer(b, np.uint8), id="numpy"),
    pytest.param(ffi.from_buffer, id="ffi.from_buffer"),
]


@pytest.mark.parametrize("operation", AFTER_RELEASE)
def test_released_buffer_refuses(core, operation) -> None:
    answer = _get(core)
    answer.release()

    with pytest.raises(ValueError, match="released"):
        operation(answer)

    assert answer.released
    assert answer.nbytes == 0
    assert answer.address == 0
    assert repr(answer) == "<orthanc_sdk.Buffer released>"


# ---- after the context is closed or detached ----------------------------


def test_buffer_released_while_orthanc_stops_is_freed(core) -> None:
    """Closed (Orthanc stopping), the core is still alive: memory goes back."""
    answer = _get(core)
    core.context.close()

    answer.release()

    assert core.frees == 1
    with pytest.raises(ContextClosedError):
        core.context.rest_api_get("/after")


def test_buffer_alive_at_detach_is_not_freed_through_it(core) -> None:
    """Once detached, the core may be gone: the memory is left to exit."""
    answer = _get(core)
    array = np.frombuffer(answer, dtype=np.uint8)
    core.context.close(detach=True)

    assert array.tobytes() == PAYLOAD
    del array
    answer.release()
    assert answer.released
    assert core.frees == 0
    assert core.outstanding() == 1

    with pytest.raises(ContextClosedError):
        core.context.rest_api_get("/after")
    assert core.services() == ["RestApiGet"]
    assert core.reclaim() == 1


def test_buffer_collected_after_detach_is_not_freed(core) -> None:
    answer = _get(core)
    core.context.close(detach=True)

    del answer
    gc.collect()

    assert core.frees == 0
    assert core.double_frees() == []
    assert core.reclaim() == 1


# ---- a releaser that fails ----------------------------------------------

FAILING_RELEASER = """
from orthanc_sdk import Buffer

def releaser():
    raise RuntimeError("releaser failed on purpose")

buffer = Buffer()
buffer._attach(4096, 0, releaser)
del buffer
print("survived")
"""


def test_releaser_failing_at_collection_is_reported(tmp_path) -> None:
    """Reported as unraisable, without touching the dying Buffer."""
    import subprocess

    script = tmp_path / "failing_releaser.py"
    script.write_text(FAILING_RELEASER)

    run = subprocess.run(
        # -X dev: the debug allocator turns a use after free into a crash.
        [sys.executable, "-X", "dev", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )

    assert run.returncode == 0, run.stderr
    assert run.stdout == "survived\n"
    assert "releaser failed on purpose" in run.stderr
