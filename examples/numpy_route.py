# SPDX-License-Identifier: GPL-3.0-or-later
"""A route that hands a DICOM instance's bytes to numpy, without a copy.

``GET /numpy/{instance}`` gets the instance's file from Orthanc
(``get_dicom_for_instance``) and views it as a numpy array of bytes: the
array reads Orthanc's own memory (its data pointer is the Buffer's
address).  The answer gives a few statistics over the bytes.

The Buffer goes back to Orthanc at the end of the ``with`` block; the array
must be gone by then (``release()`` refuses while a view is alive).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import orthanc_sdk
from orthanc_sdk import Context, Request


def byte_statistics(request: Request) -> dict[str, Any]:
    """``GET /numpy/{instance}``: statistics of the file's bytes."""
    context = orthanc_sdk.current_context()
    with context.get_dicom_for_instance(request.groups[0]) as dicom:
        array = np.frombuffer(dicom, dtype=np.uint8)
        answer = {
            "size": int(array.size),
            "sum": int(array.sum(dtype=np.uint64)),
            "histogram_max": int(np.bincount(array, minlength=256).max()),
            "magic": array[128:132].tobytes().decode("ascii", "replace"),
            "copied": bool(array.flags.owndata),
            "same_memory": array.ctypes.data == dicom.address,
        }
        del array
    return answer


def initialize(context: Context) -> None:
    """Register ``GET /numpy/{instance}``."""
    context.register_rest_callback("/numpy/([0-9a-f-]+)", byte_statistics)
