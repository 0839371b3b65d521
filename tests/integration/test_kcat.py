#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""kcat (librdkafka) against the real server: metadata, keyed messages
with headers produced and consumed back with every field compared, and
each compression codec round-tripped."""
import json
import shutil
import subprocess
import sys

sys.path.insert(0, __import__('os').path.dirname(__file__))
from harness import Server, check, finish, skip  # noqa: E402

KCAT = shutil.which('kcat') or shutil.which('kafkacat')
if not KCAT:
    skip('kcat is not installed')


def kcat(args, stdin=None, timeout=30):
    p = subprocess.run([KCAT] + args, input=stdin, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def consume(bootstrap, topic, count):
    rc, out, err = kcat(['-b', bootstrap, '-t', topic, '-C', '-J', '-e',
                         '-o', 'beginning', '-c', str(count)])
    msgs = [json.loads(line) for line in out.splitlines() if line.strip()]
    return rc, msgs, err


with Server(sys.argv[1]) as s:
    b = s.bootstrap
    rc, out, err = kcat(['-b', b, '-L', '-J'])
    md = json.loads(out) if rc == 0 else {}
    check('metadata lists this broker',
          rc == 0 and md.get('brokers') and
          md['brokers'][0]['name'] == b, out + err)

    # Keyed messages with headers, 3 batches with different headers.
    sent = []
    for batch in range(3):
        lines = []
        for i in range(20):
            k, v = 'key-%d-%d' % (batch, i), 'value-%d-%d' % (batch, i)
            lines.append('%s\t%s' % (k, v))
            sent.append((k, v, [('h%d' % batch, 'x%d' % batch),
                                ('trace', 'abc')]))
        rc, out, err = kcat(['-b', b, '-t', 'kc1', '-P', '-K', '\t',
                             '-H', 'h%d=x%d' % (batch, batch),
                             '-H', 'trace=abc', '-p', '0'],
                            '\n'.join(lines) + '\n')
        check('produce batch %d' % batch, rc == 0, err)
    rc, msgs, err = consume(b, 'kc1', len(sent))
    check('consumed every message', rc == 0 and len(msgs) == len(sent),
          err)
    ok = True
    for i, (m, (k, v, hdrs)) in enumerate(zip(msgs, sent)):
        got_h = m.get('headers') or []
        want_h = [x for kv in hdrs for x in kv]
        if (m['key'] != k or m['payload'] != v or m['offset'] != i or
                m['partition'] != 0 or got_h != want_h or
                m.get('tstype') != 'create' or m.get('ts', 0) <= 0):
            ok = check('message %d fields' % i, False, (m, k, v, hdrs))
            break
    check('key, value, headers, offset, partition, timestamp match', ok)

    for codec in ['gzip', 'snappy', 'lz4', 'zstd']:
        topic = 'codec-' + codec
        vals = ['%s-%d-' % (codec, i) + 'abc' * (i % 50)
                for i in range(200)]
        rc, out, err = kcat(['-b', b, '-t', topic, '-P', '-K', ':',
                             '-z', codec, '-p', '0'],
                            '\n'.join('k%d:%s' % (i, v)
                                      for i, v in enumerate(vals)) + '\n')
        check('%s produce' % codec, rc == 0, err)
        rc, msgs, err = consume(b, topic, len(vals))
        check('%s consumed back intact' % codec,
              rc == 0 and [m['payload'] for m in msgs] == vals and
              [m['key'] for m in msgs] ==
              ['k%d' % i for i in range(len(vals))] and
              [m['offset'] for m in msgs] == list(range(len(vals))),
              err + str(msgs[:2]))
    check('server still alive', s.alive())
    check('metrics count Produce requests',
          s.metric('chronik_requests_total', {'api': 'Produce'}) > 0)
    rc = s.stop()
    check('graceful stop exits 0', rc == 0, s.log_tail())
finish()
