#!/usr/bin/env bash
# Set up everything orthanc_sdk needs on a Debian 12 or 13 machine:
#   - Debian packages: Orthanc, its SDK header, C and C++ compilers, Python
#     headers;
#   - a virtual environment in .venv (override with ORTHANC_SDK_VENV) with
#     orthanc_sdk built and installed, plus what the tests and the demo use.
# Safe to run again: it installs only what is missing, then rebuilds the
# package.  PYTHON picks the interpreter for a new environment (default
# python3); it must come with a shared libpython, which the shim embeds.
set -euo pipefail

cd "$(dirname "$0")/.."
venv=${ORTHANC_SDK_VENV:-.venv}
python=${PYTHON:-python3}

# shellcheck source=apt.sh
. scripts/apt.sh
# valgrind: the suite runs one scenario inside Orthanc under memcheck.
apt_install setup orthanc orthanc-dev gcc g++ python3-dev python3-venv \
    libpython3-dev valgrind
# The Debian package starts a system-wide Orthanc where systemd runs; the
# project never uses it (it runs its own, on free loopback ports).

if [ ! -x "$venv/bin/python" ]; then
    echo "setup: creating the virtual environment $venv with $python"
    "$python" -m venv "$venv"
fi
venv=$(cd "$venv" && pwd)
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q ".[test]"
# From another folder: here, the source tree (without its compiled modules)
# would shadow the installed package.
(cd / && "$venv/bin/python" -m orthanc_sdk version)
