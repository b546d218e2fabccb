"""Shared test set-up."""

import os

import orthanc_sdk

# The tests exercise the installed package (scripts/setup.sh builds it); the
# source tree has no compiled modules and must not shadow it.
HERE = os.path.dirname(os.path.abspath(__file__))
if os.path.dirname(os.path.dirname(orthanc_sdk.__file__)) == os.path.dirname(
    HERE
):
    raise RuntimeError(
        "orthanc_sdk was imported from the source tree; run the tests with"
        " scripts/test.sh (or the venv's pytest script, not python -m pytest)"
    )
