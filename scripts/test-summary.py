#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Summarise meson test logs for CI.

  test-summary.py [--fail MESSAGE]... BUILD_DIR...

Reads BUILD_DIR/meson-logs/testlog.json of each build dir, lists skipped
tests (with the first line they printed, usually the reason) and failing
tests, and ends with exactly one closing line "N passed, N failed".
Each failing test's FAILED line is followed by up to TAIL_LINES lines of
its output, from the first that looks like the cause, so that a CI excerpt
of the end shows why it failed.
Each --fail MESSAGE (a failed build, setup or timeout) counts as one failed
test. Exits 1 when anything failed, a build dir has no test log, or nothing
passed. Python stdlib only.
"""
import json
import os
import re
import sys

TAIL_LINES = 20


def first_line(text):
    for line in (text or '').splitlines():
        if line.strip():
            return line.strip()[:160]
    return ''


CAUSE = re.compile(r'ERROR: \w+Sanitizer|runtime error:|^not ok|'
                   r'FATAL|[Aa]ssert|Traceback|Error:')


def tail(t):
    """TAIL_LINES lines of what a test printed (stderr last): from the
    first line that looks like the cause (a sanitizer report, a failed
    TAP test, an assertion, a traceback), else the last ones."""
    text = (t.get('stdout') or '') + '\n' + (t.get('stderr') or '')
    lines = [ln.rstrip()[:200] for ln in text.splitlines() if ln.strip()]
    for i, ln in enumerate(lines):
        if CAUSE.search(ln):
            return lines[i:i + TAIL_LINES]
    return lines[-TAIL_LINES:]


def main(argv):
    passed = failed = 0
    bad, skipped = [], []
    dirs = []
    it = iter(argv)
    for a in it:
        if a == '--fail':
            msg = next(it, 'unknown failure')
            bad.append((msg, []))
            failed += 1
        else:
            dirs.append(a)
    for d in dirs:
        log = os.path.join(d, 'meson-logs', 'testlog.json')
        if not os.path.exists(log):
            bad.append((f'{d}: no test log (build or setup failed)', []))
            failed += 1
            continue
        with open(log, encoding='utf-8', errors='replace') as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    t = json.loads(line)
                except ValueError:
                    bad.append((f'{d}: unreadable line in {log}', []))
                    failed += 1
                    continue
                r = t.get('result')
                name = t.get('name')
                if r in ('OK', 'EXPECTEDFAIL'):
                    passed += 1
                elif r == 'SKIP':
                    why = first_line(t.get('stdout')) or first_line(
                        t.get('stderr'))
                    skipped.append(f'{d}: {name}' + (f': {why}' if why
                                                      else ''))
                else:
                    failed += 1
                    bad.append((f'{d}: {name}: {r}', tail(t)))
    for s in skipped:
        print('SKIPPED ' + s)
    for b, lines in bad:
        print('FAILED ' + b)
        for ln in lines:
            print('    | ' + ln)
    if skipped:
        print(f'({len(skipped)} skipped)')
    print(f'{passed} passed, {failed} failed')
    return 1 if failed or passed == 0 else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
