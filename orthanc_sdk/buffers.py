"""``Buffer``: memory that Orthanc allocated, read without copying.

A :class:`Buffer` owns one ``OrthancPluginMemoryBuffer``.  ``memoryview(buf)``,
``numpy.frombuffer(buf, ...)`` and ``ffi.from_buffer(buf)`` all see Orthanc's
memory itself; ``bytes(buf)`` is the explicit copy.

Lifetime rules:

* The memory goes back to Orthanc exactly once: on :meth:`Buffer.release`, at
  the end of a ``with`` block, or when the Buffer is garbage-collected.
* Every view made from a Buffer keeps it alive, so the memory is never freed
  under a view.  While a view is alive, :meth:`~Buffer.release` (and so the
  end of a ``with`` block) raises ``BufferError``: release the views first
  (``memoryview.release()``, or drop the arrays made from it).  When the
  ``with`` block itself raised, that exception goes on instead, and the
  memory goes back once the Buffer and its views are collected.
* Once the plugin has been finalized, nothing is freed through the dead
  context: a Buffer still alive then is left to the process's exit.
"""

from __future__ import annotations

import json
from typing import Any

from ._memory import OwnedMemory

__all__ = ["Buffer"]


class Buffer(OwnedMemory):
    """Read-only bytes-like view of memory allocated by Orthanc.

    Supports the buffer protocol (zero-copy), ``len()``, ``bytes()``, ``==``
    against bytes-like objects, ``with`` and :meth:`release`.  Attributes
    from the C base: ``nbytes``, ``address``, ``released``, ``exports``.
    """

    def __repr__(self) -> str:
        state = "released" if self.released else f"{self.nbytes} bytes"
        return f"<orthanc_sdk.Buffer {state}>"

    def __bytes__(self) -> bytes:
        with memoryview(self) as view:
            return view.tobytes()

    def __eq__(self, other: object) -> bool:
        try:
            with memoryview(self) as mine, memoryview(other) as theirs:  # type: ignore[arg-type]
                return mine.cast("B") == theirs.cast("B")
        except TypeError:
            return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    @property
    def text(self) -> str:
        """The contents decoded as UTF-8 (strict)."""
        with memoryview(self) as view:
            return str(view, "utf-8")

    def json(self) -> Any:
        """The contents parsed as JSON (``json.loads`` of :attr:`text`)."""
        return json.loads(self.text)
