# SPDX-License-Identifier: GPL-3.0-or-later
"""Python started in the source tree imports it, not the installed package.

The README's ``.venv/bin/python -m orthanc_sdk plugin-path``, typed in the
clone, then meets a package without its compiled modules: the error must
say so, and what to do.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_import_from_the_source_tree_explains_itself() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "orthanc_sdk", "plugin-path"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )

    assert run.returncode != 0
    assert "source tree" in run.stderr, run.stderr
    assert "another folder" in run.stderr, run.stderr
