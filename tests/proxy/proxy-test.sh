#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build docs/examples/kafka-proxy against the installed tree through
# pkg-config (tests/install/example-test.sh) and run a Python test on the
# binary: proxy_test.py (the default: a fake broker, kcat and raw Kafka
# clients through the proxy) or SCRIPT with ARGS after the binary
# (proxy_server_test.py CHRONIK_SERVER: the real server behind it).
#   proxy-test.sh BUILD_DIR PYTHON SOURCE [SCRIPT [ARGS...]]
# Exit 77 (skip) when kcat is missing.
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n '3,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
command -v kcat >/dev/null || { echo "SKIP: kcat not found"; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
build=$1 python=$2 src=$3
script=${4:-proxy_test.py}
shift $(( $# > 3 ? 4 : 3 ))
# example-test.sh runs "$RUN_WRAPPER BINARY ARGS": the wrapper is the test.
export RUN_WRAPPER="$python $here/$script"
exec "$here/../install/example-test.sh" "$build" "libchronik-protocol libuv" \
  "$src" "$@"
