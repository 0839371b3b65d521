#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Compare a Chronik library against its committed ABI baseline, or write
that baseline.

  abi-check.py diff --baseline F.abi --lib LIB --headers-dir DIR... \
               [--abidiff PATH] [--skip REASON]...
  abi-check.py dump --baseline F.abi --lib LIB --headers-dir DIR... \
               [--abidw PATH]

diff runs abidiff BASELINE LIB and fails on any non-zero status. abidiff's
status is a bit mask:
    1  ERROR           abidiff itself failed (bad input, no debug info, ...)
    2  USAGE_ERROR     bad command line
    4  ABI_CHANGE      the ABI changed (also set for *added* symbols)
    8  ABI_INCOMPATIBLE_CHANGE  the change breaks existing binaries
                       (removed symbol, changed type); comes with 4
An intended change regenerates the baseline (scripts/abi-baseline.sh) and
bumps the library's version; see docs/abi.md.

Skips (exit 77, with a message) when the check cannot mean anything: a
--skip reason given by meson (sanitizer build, no -g, abidiff missing), a
static archive, no baseline yet, or a baseline for another architecture.
With CHRONIK_REQUIRE_ABI_CHECK=1 in the environment (set by scripts/test.sh
for the main CI pass), every skip except the architecture one is a failure,
so the check can never silently vanish from CI.
"""
import argparse
import os
import re
import subprocess
import sys

SKIP = 77
# abidw options shared by baseline and check: the dump must not depend on
# the checkout path or on line numbers, so that regenerating an unchanged
# ABI gives an identical file.
ABIDW_OPTS = ['--no-corpus-path', '--no-comp-dir-path', '--no-show-locs',
              '--type-id-style', 'hash', '--drop-undefined-syms']
# ELF e_machine -> libabigail architecture name
ARCH = {3: 'elf-intel-80386', 62: 'elf-amd-x86_64', 183: 'elf-arm-aarch64',
        40: 'elf-arm', 243: 'elf-riscv', 21: 'elf-ibm-ppc64', 22: 'elf-ibm-s390'}
STATUS_BITS = [(1, 'ERROR: abidiff failed to run or read its input'),
               (2, 'USAGE_ERROR: bad abidiff command line'),
               (4, 'ABI_CHANGE: the ABI changed (added, removed or changed '
                   'symbols or types)'),
               (8, 'ABI_INCOMPATIBLE_CHANGE: existing binaries would break')]


def elf_arch(path):
    with open(path, 'rb') as f:
        hdr = f.read(20)
    if hdr[:4] != b'\x7fELF':
        return None
    order = 'little' if hdr[5] == 1 else 'big'
    return ARCH.get(int.from_bytes(hdr[18:20], order), 'unknown')


def skip(msg):
    if os.environ.get('CHRONIK_REQUIRE_ABI_CHECK') == '1':
        print(f'FAIL: the ABI check is required here '
              f'(CHRONIK_REQUIRE_ABI_CHECK=1) but cannot run: {msg}')
        return 1
    print(f'SKIP: {msg}')
    return SKIP


def headers_args(flag, dirs):
    out = []
    for d in dirs:
        out += [flag, d]
    return out


def cmd_dump(a):
    os.makedirs(os.path.dirname(os.path.abspath(a.baseline)), exist_ok=True)
    cmd = ([a.abidw] + headers_args('--headers-dir', a.headers_dir) +
           ABIDW_OPTS + ['--out-file', a.baseline, a.lib])
    print('$ ' + ' '.join(cmd))
    r = subprocess.run(cmd)
    if r.returncode != 0:
        print(f'abidw failed with status {r.returncode}')
        return 1
    print(f'wrote {a.baseline}')
    return 0


def cmd_diff(a):
    name = os.path.basename(a.baseline)
    if a.skip:
        return skip(f'{name}: ' + '; '.join(a.skip))
    if a.lib.endswith('.a'):
        return skip(f'{name}: {a.lib} is a static archive')
    if not os.path.exists(a.baseline):
        return skip(f'no baseline {a.baseline} yet: run '
                    'scripts/abi-baseline.sh and commit it (docs/abi.md)')
    with open(a.baseline, encoding='utf-8') as f:
        m = re.search(r"architecture='([^']*)'", f.read(4096))
    base_arch, lib_arch = (m.group(1) if m else None), elf_arch(a.lib)
    if base_arch and lib_arch and base_arch != lib_arch:
        # Not a failure even in CI: baselines are recorded per architecture.
        print(f'SKIP: {name} was recorded on {base_arch}, this build is '
              f'{lib_arch}')
        return SKIP
    cmd = ([a.abidiff, '--fail-no-debug-info', '--no-corpus-path'] +
           headers_args('--headers-dir2', a.headers_dir) +
           [a.baseline, a.lib])
    print('$ ' + ' '.join(cmd))
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if r.stdout.strip():
        print(r.stdout.rstrip())
    if r.returncode == 0:
        print(f'OK: {os.path.basename(a.lib)} matches {name}')
        return 0
    print(f'FAIL: abidiff exited with status {r.returncode}:')
    for bit, what in STATUS_BITS:
        if r.returncode & bit:
            print(f'    bit {bit}: {what}')
    if r.returncode & 4:
        print('If this change is intended: bump the version in '
              'chronik/<lib>_version.h (MINOR for additions, MAJOR for '
              'breaks), then run scripts/abi-baseline.sh and commit the new '
              'baseline. See docs/abi.md.')
    return 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('mode', choices=['diff', 'dump'])
    ap.add_argument('--baseline', required=True)
    ap.add_argument('--lib', required=True)
    ap.add_argument('--headers-dir', action='append', default=[])
    ap.add_argument('--abidiff', default='abidiff')
    ap.add_argument('--abidw', default='abidw')
    ap.add_argument('--skip', action='append', default=[],
                    help='reason why the check cannot be meaningful')
    a = ap.parse_args()
    return cmd_dump(a) if a.mode == 'dump' else cmd_diff(a)


if __name__ == '__main__':
    sys.exit(main())
