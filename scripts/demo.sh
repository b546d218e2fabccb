#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run the demo: the inventory plugin of
# examples/ inside a real Orthanc, on pydicom's sample DICOM files.
set -euo pipefail

cd "$(dirname "$0")/.."
bash scripts/setup.sh
venv=${ORTHANC_SDK_VENV:-.venv}
cd examples
exec "$OLDPWD/$venv/bin/python" demo.py "$@"
