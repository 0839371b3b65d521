#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Set everything up and run the whole test suite: a debugoptimized build
# with -Werror (which also runs the ABI checks), then a second pass under
# ASan+UBSan (UBSan halts on the first error, LeakSanitizer on). Output ends
# with exactly one line "N passed, N failed"; the exit status is non-zero on
# any failure, including a failed setup or build.
#   scripts/test.sh [--no-asan] [meson test args...]
# Environment: CC (compiler, default cc), JOBS (parallel build/test jobs,
# default nproc), PASS_TIMEOUT (seconds for each `meson test` run, default
# 2400), TIMEOUT_MULTIPLIER (for per-test timeouts of the first pass).
set -uo pipefail
cd "$(dirname "$0")/.."

if ! scripts/setup.sh test; then
  echo "FAILED setup: scripts/setup.sh test"
  echo "0 passed, 1 failed"
  exit 1
fi

asan=1
if [ "${1:-}" = "--no-asan" ]; then asan=0; shift; fi
extra=("$@")
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
pass_timeout=${PASS_TIMEOUT:-2400}
summary_args=()

# run_pass DIR TIMEOUT_MULTIPLIER [meson setup args...]
# Configures, builds and tests DIR; records failures in summary_args.
run_pass() {
  local dir=$1 mult=$2
  shift 2
  echo "=== $dir: meson setup $*"
  rm -f "$dir/meson-logs/testlog.json"    # never count a stale log
  if [ -d "$dir/meson-private" ]; then
    meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1 ||
      meson setup --wipe "$dir" "$@" >"$dir.setup.log" 2>&1
  else
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1
  fi || {
    cat "$dir.setup.log"
    summary_args+=(--fail "$dir: meson setup failed (log above)")
    return
  }
  if ! ninja -C "$dir" -j "$jobs"; then
    summary_args+=(--fail "$dir: build failed")
    return
  fi
  # Benchmarks are not built by default; make sure they still compile.
  if ninja -C "$dir" -t targets all 2>/dev/null | grep -q '^bench:'; then
    ninja -C "$dir" -j "$jobs" bench ||
      summary_args+=(--fail "$dir: benchmarks failed to build")
  fi
  echo "=== $dir: meson test"
  timeout -k 30 "$pass_timeout" meson test -C "$dir" --no-rebuild \
    --print-errorlogs --num-processes "$jobs" \
    --timeout-multiplier "$mult" "${extra[@]}"
  local rc=$?
  if [ $rc = 124 ] || [ $rc = 137 ]; then
    summary_args+=(--fail "$dir: meson test did not finish in ${pass_timeout}s")
  fi
  summary_args+=("$dir")
}

common=(--wrap-mode=nodownload -Dwerror=true)

# Pass 1: what users get. The ABI checks must really run here.
CHRONIK_REQUIRE_ABI_CHECK=1 run_pass build-test "${TIMEOUT_MULTIPLIER:-1}" \
  "${common[@]}" --buildtype=debugoptimized -Db_sanitize=none

# Pass 2: ASan + UBSan. -O0 keeps gcc's optimiser-driven warnings, which
# are unreliable under sanitizers, from breaking the -Werror build.
if [ $asan = 1 ]; then
  san=("${common[@]}" --buildtype=debug -Db_sanitize=address,undefined
    -Dbench=false)
  # clang's shared libraries leave the sanitizer runtime undefined.
  if ${CC:-cc} --version 2>/dev/null | grep -q clang; then
    san+=(-Db_lundef=false)
  fi
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  LSAN_OPTIONS=exitcode=23 \
    run_pass build-asan 3 "${san[@]}"
fi

python3 scripts/test-summary.py "${summary_args[@]}"
