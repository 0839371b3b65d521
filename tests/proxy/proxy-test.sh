#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build docs/examples/kafka-proxy against the installed tree through
# pkg-config (tests/install/example-test.sh) and run proxy_test.py on the
# binary: a fake broker, kcat and raw Kafka clients through the proxy.
#   proxy-test.sh BUILD_DIR PYTHON SOURCE
# Exit 77 (skip) when kcat is missing.
set -euo pipefail
if [ $# -ne 3 ]; then
  sed -n '3,7p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
command -v kcat >/dev/null || { echo "SKIP: kcat not found"; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
# example-test.sh runs "$RUN_WRAPPER BINARY": the wrapper is the test.
export RUN_WRAPPER="$2 $here/proxy_test.py"
exec "$here/../install/example-test.sh" "$1" "libchronik-protocol libuv" "$3"
