#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""expect.py MARKER PROGRAM: PROGRAM must exit non-zero and print MARKER.
Proves that a sanitizer really works in this environment (a LeakSanitizer
that cannot run, e.g. under ptrace restrictions, also exits non-zero, but
without the report)."""
import subprocess
import sys

marker, prog = sys.argv[1], sys.argv[2:]
r = subprocess.run(prog, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                   universal_newlines=True)
print(r.stdout.rstrip())
if r.returncode != 0 and marker in r.stdout:
    print(f'OK: exit status {r.returncode} with "{marker}"')
    sys.exit(0)
print(f'FAIL: wanted a non-zero exit and "{marker}", got status '
      f'{r.returncode}')
sys.exit(1)
