#!/usr/bin/env bash
# Set up (scripts/setup.sh), build the C floor plugin, add Debian's
# orthanc-python where apt allows, then run the benchmarks:
#   scripts/bench.sh            the full run: the fake-core benchmarks, then
#                               Orthanc with the C floor, orthanc_sdk and
#                               orthanc-python; the report goes to the
#                               terminal and into BENCHMARKS.md
#   scripts/bench.sh --quick    tiny sizes and counts, each fake-core
#                               benchmark once: proves the harness (CI)
# Other arguments go to benchmarks/run.py (e.g. --rounds 3, --no-opy).
set -euo pipefail

cd "$(dirname "$0")/.."
bash scripts/setup.sh
venv=${ORTHANC_SDK_VENV:-.venv}

quick=0
args=()
for arg in "$@"; do
    if [ "$arg" = "--quick" ]; then
        quick=1
    else
        args+=("$arg")
    fi
done

# orthanc-python is what the figures compare with, and python3-numpy gives
# its numpy workloads; both are optional: without them the run goes on.
# shellcheck source=apt.sh
. scripts/apt.sh
apt_install bench orthanc-python python3-numpy \
    || echo "bench: could not install orthanc-python, python3-numpy:" \
        "going on without"

build=build/bench
mkdir -p "$build"
gcc -O2 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden \
    -I"${ORTHANC_SDK_INCLUDE_DIR:-/usr/include}" \
    -o "$build/libBenchFloor.so" benchmarks/floor.c

# The venv's pytest script, as in scripts/test.sh: the installed package.
if [ "$quick" -eq 1 ]; then
    "$venv/bin/pytest" benchmarks -q --benchmark-disable
    exec "$venv/bin/python" benchmarks/run.py --quick \
        --floor "$build/libBenchFloor.so" "${args[@]}"
fi
"$venv/bin/pytest" benchmarks -q --benchmark-sort=name \
    --benchmark-columns=median,min,max,rounds \
    --benchmark-json="$build/fakecore.json"
exec "$venv/bin/python" benchmarks/run.py \
    --floor "$build/libBenchFloor.so" --fakecore "$build/fakecore.json" \
    --record BENCHMARKS.md --command "make bench (bash scripts/bench.sh)" "${args[@]}"
