#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Regenerate the committed ABI baselines libchronik-<lib>/abi/libchronik-<lib>.abi
# from a fresh -g build (abidw, see tests/abi/abi-check.py for the options).
#   scripts/abi-baseline.sh [BUILD_DIR]      (default: build-abi)
# Run it only for an intended ABI change, after bumping the library's
# version in chronik/<lib>_version.h; then review `git diff` and commit the
# .abi files with the change. See docs/abi.md.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-abi}
# The baseline must come from a plain shared, debug-info, non-sanitizer
# build; gcc is the reference compiler (CI checks gcc builds against it).
opts=(--wrap-mode=nodownload --buildtype=debugoptimized -Ddebug=true
  -Db_sanitize=none -Ddefault_library=shared -Dtests=enabled)
if [ -d "$dir/meson-private" ]; then
  meson setup --reconfigure "$dir" "${opts[@]}" >/dev/null
else
  CC=${CC:-gcc} meson setup "$dir" "${opts[@]}" >/dev/null
fi
ninja -C "$dir" abi-baseline
git status --short -- 'libchronik-*/abi/'
