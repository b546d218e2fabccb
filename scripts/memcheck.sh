#!/usr/bin/env bash
# Memory safety of the compiled parts (the cffi module, the buffer type,
# the shim), two ways:
#
# 1. AddressSanitizer: orthanc_sdk is built with -fsanitize=address into
#    its own virtual environment, and the tests that need no Orthanc (the
#    fake-core tests: every Context method, Buffers, bad input, the
#    property-based and leak sequences) run with libasan preloaded.  Any
#    invalid read or write in the compiled modules, any double free or
#    bad free in the process ends it with a report.  Orthanc itself cannot
#    run so: with libasan preloaded, Orthanc 1.10.1 hangs at start-up, in
#    its own std::locale set-up (a lock in duplocale never released).
# 2. Valgrind's memcheck: tests/test_reliability_valgrind.py runs Orthanc
#    under memcheck with the shim and a scenario that calls every Context
#    method and every kind of route answer (it is part of the normal suite
#    too).
#
# Leak detection is off in both: Python does not free everything at exit,
# by design; the leak tests measure growth instead.
#
#   scripts/memcheck.sh                 # both
#   scripts/memcheck.sh --asan-only     # 1. only (CI: 2. is in the suite)
#   scripts/memcheck.sh -k properties   # extra arguments go to pytest (1.)
#
# ORTHANC_SDK_ASAN_VENV picks the ASan environment (default .venv-asan);
# PYTHON its interpreter, as for scripts/setup.sh.
set -euo pipefail

asan_only=0
if [ "${1:-}" = "--asan-only" ]; then
    asan_only=1
    shift
fi
cd "$(dirname "$0")/.."
root=$(pwd)
# setup.sh installs valgrind too.
bash scripts/setup.sh >/dev/null
venv=${ORTHANC_SDK_ASAN_VENV:-.venv-asan}
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
    echo "memcheck: creating the virtual environment $venv with $python"
    "$python" -m venv "$venv"
fi
venv=$(cd "$venv" && pwd)
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q ".[test]"
# Rebuilt every time, with the sanitizer: a wheel built without it must
# not be reused.
CFLAGS="-fsanitize=address -fno-omit-frame-pointer -g" \
LDFLAGS="-fsanitize=address" \
    "$venv/bin/python" -m pip install -q --no-cache-dir --no-deps \
    --force-reinstall .

libasan=$(gcc -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
    echo "memcheck: gcc has no libasan.so (apt-get install libasan8)" >&2
    exit 1
fi
for module in "$venv"/lib/python3*/site-packages/orthanc_sdk/*.so; do
    if ! nm -D "$module" | grep -q __asan_init; then
        echo "memcheck: $module was built without AddressSanitizer" >&2
        exit 1
    fi
done

reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
status=0
echo "memcheck: the fake-core tests under AddressSanitizer"
# From another folder: the source tree must not shadow the package.
(
    cd "$reports"
    LD_PRELOAD="$libasan" \
    ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:log_path=$reports/asan" \
        "$venv/bin/pytest" -q -p no:cacheprovider \
        --rootdir "$root" -c "$root/pyproject.toml" \
        -m "not orthanc" --ignore "$root/tests/test_server_runner.py" \
        "$@" "$root/tests"
) || status=$?
if compgen -G "$reports/asan.*" >/dev/null; then
    echo "memcheck: AddressSanitizer reported errors:" >&2
    cat "$reports"/asan.* >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "memcheck: the tests under AddressSanitizer failed ($status)" >&2
    exit "$status"
fi
echo "memcheck: no AddressSanitizer report"
[ "$asan_only" -eq 0 ] || exit 0

echo "memcheck: Orthanc under Valgrind's memcheck"
venv_main=$(cd "${ORTHANC_SDK_VENV:-.venv}" && pwd)
(cd / && "$venv_main/bin/pytest" -q -p no:cacheprovider -rA \
    --rootdir "$root" -c "$root/pyproject.toml" \
    "$root/tests/test_reliability_valgrind.py")
echo "memcheck: no memcheck error"
