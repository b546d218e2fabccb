#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run the demo: the inventory plugin of
# examples/ inside a real Orthanc, on pydicom's sample DICOM files.
set -euo pipefail

cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Absolute before the cd: ORTHANC_SDK_VENV may be relative or absolute.
venv=$(cd "${ORTHANC_SDK_VENV:-.venv}" && pwd)
cd examples
exec "$venv/bin/python" demo.py "$@"
