#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Out-of-tree consumer test: `meson install` the build into a temporary
# DESTDIR, then compile SOURCE with `cc $(pkg-config --cflags --libs PKG)`
# exactly as a user would, and run it with the given arguments.
#   example-test.sh BUILD_DIR PKG SOURCE [ARGS...]
# The program's exit status is the test's. Temp files are removed.
set -euo pipefail
build=$1 pkgname=$2 src=$3
shift 3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/chronik-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --destdir "$tmp/root" --no-rebuild >"$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log"; exit 1; }
prefix=$(meson introspect "$build" --buildoptions |
  python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
libdir=$(meson introspect "$build" --buildoptions |
  python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"][0])')
case "$libdir" in /*) ;; *) libdir="$prefix/$libdir" ;; esac
export PKG_CONFIG_PATH="$tmp/root$libdir/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$tmp/root"
flags=$(pkg-config --cflags --libs "$pkgname")
echo "pkg-config --cflags --libs $pkgname: $flags"
${CC:-cc} -std=c11 -Wall -Wextra -Werror -o "$tmp/example" "$src" $flags -pthread
LD_LIBRARY_PATH="$tmp/root$libdir" "$tmp/example" "$@"
