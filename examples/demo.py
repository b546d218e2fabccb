"""The demo: the inventory plugin, inside a real Orthanc, on real files.

Starts the Debian Orthanc on a free loopback port with temporary storage,
the orthanc_sdk shim and ``inventory_plugin.py``; uploads the DICOM files
that pydicom ships (real files from the field, many with non-ASCII text and
unusual encodings); asks the plugin for ``GET /inventory``; prints what it
found; stops Orthanc.  Run it with ``scripts/demo.sh``.
"""

from __future__ import annotations

import json
import os
import sys
import time

import pydicom

import orthanc_sdk
from orthanc_sdk.server import OrthancServer

HERE = os.path.dirname(os.path.abspath(__file__))


def sample_files() -> list[str]:
    """Every file under pydicom's ``data/test_files``."""
    root = os.path.join(
        os.path.dirname(pydicom.__file__), "data", "test_files"
    )
    return sorted(
        os.path.join(folder, name)
        for folder, _, names in os.walk(root)
        for name in names
    )


def main() -> int:
    """Run the demo; returns the exit status."""
    files = sample_files()
    config = {
        "OrthancSdk": {"Script": os.path.join(HERE, "inventory_plugin.py")}
    }
    with OrthancServer(
        plugins=[orthanc_sdk.plugin_path()], config=config
    ) as orthanc:
        version = orthanc.get("/system").json()["Version"]
        print(f"Orthanc {version} on {orthanc.url}, plugin loaded")
        started = time.monotonic()
        stored = orthanc.upload(files)
        # Several sample files hold the same instance (same SOP Instance
        # UID): Orthanc accepts each, and stores it once.
        distinct = len({answer["ID"] for answer in stored})
        print(
            f"uploaded {len(stored)} of {len(files)} pydicom sample files"
            f" in {time.monotonic() - started:.1f} s, {distinct} distinct"
            " instances (Orthanc refused the others: not DICOM, or not"
            " storable)"
        )
        answer = orthanc.get("/inventory")
        if answer.status != 200:
            print(f"GET /inventory answered {answer.status}:", file=sys.stderr)
            print(answer.text, file=sys.stderr)
            print(orthanc.log()[-4000:], file=sys.stderr)
            return 1
        print(
            "GET /inventory (computed by the Python plugin through the SDK):"
        )
        print(json.dumps(answer.json(), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
