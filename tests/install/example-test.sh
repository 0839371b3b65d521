#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Out-of-tree consumer test: `meson install` BUILD_DIR into a temporary
# DESTDIR, compile SOURCE with `$CC ... $(pkg-config --cflags --libs PKG)`
# exactly as a user would, and run it with ARGS.
#   example-test.sh BUILD_DIR PKG SOURCE [ARGS...]
# PKG may name several packages ("libchronik-wal libchronik-protocol").
# The program's exit status is the test's; 77 (skip) when pkg-config is
# missing. Temp files are removed unless KEEP_TMP=1.
# Optional environment:
#   CC            compiler (default cc); meson sets it to the build's compiler
#   EXTRA_CFLAGS  more compile flags, e.g. the build's -fsanitize=... flags
#   EXTRA_LIBS    more link flags after the pkg-config ones
#   MESON         meson command (default: meson on PATH)
#   RUN_WRAPPER   prefix for running the program (e.g. "valgrind -q")
#   KEEP_TMP=1    keep the temporary install tree and print its path
# The program runs in the caller's directory with EXAMPLE_SCRATCH_DIR set to
# an empty temporary directory it may use.
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n '3,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
build=$(cd "$1" && pwd) pkgs=$2 src=$3
shift 3
case "$src" in /*) ;; *) src="$(pwd)/$src" ;; esac
command -v pkg-config >/dev/null || { echo "SKIP: pkg-config not found"; exit 77; }
meson=${MESON:-meson}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chronik-install.XXXXXX")
if [ "${KEEP_TMP:-0}" = 1 ]; then
  echo "example-test: keeping $tmp"
else
  trap 'rm -rf "$tmp"' EXIT
fi

$meson install -C "$build" --destdir "$tmp/root" --no-rebuild \
  >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; exit 1; }

# prefix, libdir and default_library as configured in the build.
$meson introspect "$build" --buildoptions >"$tmp/options.json"
read -r prefix libdir deflib < <(python3 - "$tmp/options.json" <<'PY'
import json, sys
with open(sys.argv[1], encoding='utf-8') as f:
    opts = {o['name']: o['value'] for o in json.load(f)}
print(opts['prefix'], opts['libdir'], opts.get('default_library', 'shared'))
PY
)
case "$libdir" in /*) ;; *) libdir="$prefix/$libdir" ;; esac
root_libdir="$tmp/root$libdir"

# The temporary tree comes first; the system's .pc files stay visible for
# public dependencies the chronik packages may require.
export PKG_CONFIG_PATH="$root_libdir/pkgconfig:$tmp/root$prefix/share/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$tmp/root"
pcflags=()
[ "$deflib" = static ] && pcflags=(--static)
# shellcheck disable=SC2086 # PKG and the flag variables are word lists
flags=$(pkg-config "${pcflags[@]}" --cflags --libs $pkgs) ||
  { echo "example-test: pkg-config cannot find $pkgs in $tmp/root"; exit 1; }
echo "pkg-config --cflags --libs $pkgs: $flags"

cmd="${CC:-cc} -std=c11 -Wall -Wextra -Werror ${EXTRA_CFLAGS:-} -o $tmp/example $src $flags ${EXTRA_LIBS:-} -pthread"
echo "$cmd"
# shellcheck disable=SC2086
${CC:-cc} -std=c11 -Wall -Wextra -Werror ${EXTRA_CFLAGS:-} -o "$tmp/example" \
  "$src" $flags ${EXTRA_LIBS:-} -pthread

# A scratch directory the program may use; removed with the rest.
mkdir -p "$tmp/scratch"
export EXAMPLE_SCRATCH_DIR="$tmp/scratch"
# shellcheck disable=SC2086
# Only the installed tree: meson points LD_LIBRARY_PATH at the build dirs.
LD_LIBRARY_PATH="$root_libdir" \
  ${RUN_WRAPPER:-} "$tmp/example" "$@"
