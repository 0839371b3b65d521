#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""chronik-bench smoke test: against the real server, produce a few
thousand messages (two partitions, batches of 1 and 10, lz4), consume
them back with --validate and check the JSON reports: every message
acknowledged and consumed, CRC and sequence checks clean, zero errors.
Bounded: each run has --timeout and a subprocess time-out."""
import json
import subprocess
import sys

sys.path.insert(0, __import__('os').path.dirname(__file__))
from harness import Server, check, finish  # noqa: E402

BENCH = sys.argv[2]


def bench(args, timeout=30):
    p = subprocess.run([BENCH] + args + ['--json', '--timeout', '10'],
                       capture_output=True, text=True, timeout=timeout)
    try:
        out = json.loads(p.stdout)
    except ValueError:
        out = {}
    return p.returncode, out, p.stdout + p.stderr


with Server(sys.argv[1]) as s:
    b = ['-b', s.bootstrap, '-t', 'bench-smoke']
    rc, out, text = bench(['produce'] + b + [
        '--create-topic', '-p', '2', '-n', '3000', '-c', '16',
        '--key-pattern', 'sequential'])
    check('produce 3000 (batch 1): exit 0, zero errors',
          rc == 0 and out.get('errors') == 0 and
          out.get('messages') == 3000, text)
    rc, out, text = bench(['produce'] + b + [
        '-n', '2000', '-c', '8', '--batch-size', '10', '-z', 'lz4',
        '-a', '1'])
    check('produce 2000 (batch 10, lz4, acks 1): zero errors',
          rc == 0 and out.get('errors') == 0 and
          out.get('messages') == 2000, text)
    rc, out, text = bench(['consume'] + b + ['--validate'])
    v = out.get('validate', {})
    # Two producer runs: sequence numbers 0..2999 then 0..1999 again,
    # so 2000 duplicates are expected and the exit status says so.
    check('consume --validate reads all 5000 with zero errors',
          out.get('errors') == 0 and out.get('messages') == 5000 and
          v.get('checked') == 5000 and v.get('bad') == 0 and
          v.get('gaps') == 0 and v.get('duplicates') == 2000, text)

    b = ['-b', s.bootstrap, '-t', 'bench-smoke2']
    rc, out, text = bench(['produce'] + b + [
        '--create-topic', '-n', '4000', '-c', '32', '-z', 'zstd',
        '--batch-size', '4'])
    rc2, out2, text2 = bench(['consume'] + b + ['--validate'])
    check('produce + consume --validate: exit 0, zero errors',
          rc == 0 and rc2 == 0 and out2.get('errors') == 0 and
          out2.get('messages') == 4000 and
          out2.get('validate', {}).get('checked') == 4000,
          text + text2)
    rc, out, text = bench(['round-trip'] + b + ['-d', '1', '-c', '8'])
    check('round-trip: every message consumed, zero errors',
          rc == 0 and out.get('errors') == 0 and out.get('messages', 0) > 0
          and out.get('consumed') == out.get('expected'), text)
    rc, out, text = bench(['metadata'] + b + ['-n', '500', '-c', '4'])
    check('metadata: 500 requests, zero errors',
          rc == 0 and out.get('errors') == 0 and
          out.get('requests') == 500, text)
    rc = subprocess.run([BENCH, 'produce', '-b', s.bootstrap, '-s', '8',
                         '--validate'], capture_output=True).returncode
    check('bad usage exits 2', rc == 2)
finish()
