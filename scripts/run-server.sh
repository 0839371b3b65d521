#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Set everything up, build, and run the standalone server on
# localhost:9092 with its data in ./data. Extra arguments go to
# `chronik-server start`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
if [ ! -d build/meson-private ]; then
  meson setup build --wrap-mode=nodownload --buildtype=release -Dtests=disabled
fi
ninja -C build
if [ ! -x build/chronik-server/chronik-server ]; then
  echo "run-server.sh: chronik-server is not part of this build yet" >&2
  exit 1
fi
exec build/chronik-server/chronik-server start --data-dir ./data "$@"
