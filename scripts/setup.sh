#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages Chronik needs, when they are missing.
#   scripts/setup.sh build   packages to build the libraries and the server
#   scripts/setup.sh test    the above + what the test suite needs
#   scripts/setup.sh bench   the above + what the benchmarks compare against
# The package lists below are the single source of truth; README and CI
# call this script. Must run as root (or with sudo available) on Debian 12.
set -euo pipefail

BUILD_PKGS=(
  meson ninja-build pkg-config gcc python3
  libuv1-dev zlib1g-dev libzstd-dev liblz4-dev libsnappy-dev
  libmbedtls-dev libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev
)
TEST_PKGS=(
  libcmocka-dev g++ binutils abigail-tools
  kcat librdkafka-dev python3-kafka python3-confluent-kafka
  nodejs npm
)
BENCH_PKGS=(
  zstd lz4 fio clang libclang-rt-14-dev redis-server redis-tools
)

mode=${1:-build}
case "$mode" in
  build) want=("${BUILD_PKGS[@]}") ;;
  test) want=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}") ;;
  bench) want=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" "${BENCH_PKGS[@]}") ;;
  -h|--help) sed -n '3,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "setup.sh: unknown mode '$mode' (build, test or bench)" >&2; exit 2 ;;
esac

# Test mode also needs kafkajs for the node integration tests, installed
# into tests/integration/node_modules (gitignored) from
# tests/integration/package.json, never with a lock file. A failed npm
# install (no network, no registry) is a warning: the kafkajs tests then
# skip with the reason, or fail under CI (tests/integration/run_kafkajs.py).
install_node_modules() {
  [ "$mode" = build ] && return 0
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/integration"
  [ -f "$dir/package.json" ] || return 0
  [ -f "$dir/node_modules/kafkajs/package.json" ] && return 0
  if ! command -v npm >/dev/null; then
    echo "setup.sh: warning: npm not found, kafkajs not installed" >&2
    return 0
  fi
  echo "setup.sh: npm install in $dir" >&2
  (cd "$dir" && npm install --no-package-lock --no-audit --no-fund >&2) ||
    echo "setup.sh: warning: npm install failed in $dir; the kafkajs" \
      "tests will skip (fail under CI)" >&2
}

missing=()
for p in "${want[@]}"; do
  # Node may come from another source (nodesource's nodejs bundles npm
  # and conflicts with Debian's npm): a working command is enough.
  case "$p" in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
  esac
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  install_node_modules
  exit 0
fi

SUDO=
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "setup.sh: need root to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "setup.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
install_node_modules
