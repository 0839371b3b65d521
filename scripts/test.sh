#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Set everything up and run the whole test suite: an optimized build with
# -Werror, then a second pass under ASan+UBSan. Ends with the line
# "N passed, N failed" and exits non-zero on any failure.
#   scripts/test.sh [--no-asan] [meson test args...]
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

scripts/setup.sh test || { echo "0 passed, 1 failed"; exit 1; }

asan=1
if [ "${1:-}" = "--no-asan" ]; then asan=0; shift; fi
jobs=$(nproc 2>/dev/null || echo 2)

run_pass() { # name, meson setup args...
  local dir=$1; shift
  if [ -d "$dir/meson-private" ]; then
    meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1
  else
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1
  fi || { cat "$dir.setup.log"; return 1; }
  ninja -C "$dir" || return 1
  meson test -C "$dir" --print-errorlogs --num-processes "$jobs" \
    --timeout-multiplier "${TIMEOUT_MULTIPLIER:-1}" "${extra[@]}"
  return 0
}

extra=("$@")
dirs=()
status=0
run_pass build-test --wrap-mode=nodownload -Dwerror=true \
  --buildtype=debugoptimized || { echo "build-test: build failed"; status=1; }
dirs+=(build-test)
if [ $asan = 1 ]; then
  TIMEOUT_MULTIPLIER=3 run_pass build-asan --wrap-mode=nodownload \
    -Dwerror=true --buildtype=debug -Db_sanitize=address,undefined \
    -Dbench=false || { echo "build-asan: build failed"; status=1; }
  dirs+=(build-asan)
fi

python3 "$top/scripts/test-summary.py" "${dirs[@]}"
rc=$?
[ $status = 0 ] || rc=1
exit $rc
