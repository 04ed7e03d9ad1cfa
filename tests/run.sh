#!/usr/bin/env bash
# Build (installing Debian packages when missing) and run every test.
#   bash tests/run.sh                      -> build/, all tests
#   BUILD_DIR=build-asan SANITIZE=ON bash tests/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$here/build}
BUILD_DIR=$build_dir bash "$here/appliance/setup.sh"
# ASan: leaks are bugs too; UBSan: stop at the first report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build_dir" --output-on-failure -j2 "$@"
