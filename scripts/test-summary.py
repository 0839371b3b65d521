#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Read meson-logs/testlog.json of each build dir given, print the failing
tests and one closing line "N passed, N failed" (skips counted apart).
Exit 1 when anything failed or a build dir has no test log."""
import json
import os
import sys

passed = failed = skipped = 0
bad = []
for d in sys.argv[1:]:
    log = os.path.join(d, 'meson-logs', 'testlog.json')
    if not os.path.exists(log):
        bad.append(f'{d}: no test log (build or setup failed)')
        failed += 1
        continue
    with open(log, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            t = json.loads(line)
            r = t.get('result')
            if r in ('OK', 'EXPECTEDFAIL'):
                passed += 1
            elif r == 'SKIP':
                skipped += 1
            else:
                failed += 1
                bad.append(f"{d}: {t.get('name')}: {r}")
for b in bad:
    print('FAILED ' + b)
line = f'{passed} passed, {failed} failed'
if skipped:
    line += f', {skipped} skipped'
print(line)
sys.exit(1 if failed or passed == 0 else 0)
