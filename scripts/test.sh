#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run the test suite against the installed
# package and the Debian Orthanc.  Extra arguments go to pytest, e.g.
#   scripts/test.sh -k lookup        scripts/test.sh -m "not orthanc"
set -euo pipefail

cd "$(dirname "$0")/.."
bash scripts/setup.sh
venv=${ORTHANC_SDK_VENV:-.venv}
# Type-check the package and the examples (a few seconds, cached after).
"$venv/bin/mypy" --strict orthanc_sdk examples
# pytest's own script, not "python -m pytest": that would put the source
# tree, without its compiled modules, ahead of the installed package.
exec "$venv/bin/pytest" "$@"
