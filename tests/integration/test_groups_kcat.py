#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""kcat's balanced consumer (-G, librdkafka's KafkaConsumer) against the
real server: two members split a 6-partition topic, a third joins, one
is killed with kill -9 and its partitions move after the session
timeout; every record is consumed once and the group's commits let a
restarted consumer resume at the end."""
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, check, finish, skip  # noqa: E402

KCAT = shutil.which('kcat') or shutil.which('kafkacat')
if not KCAT:
    skip('kcat is not installed')

TOPIC = 'k6'
NPART = 6
ASSIGNED = re.compile(r'rebalanced.*: assigned: (.*)$')
REVOKED = re.compile(r'rebalanced.*: revoked:')


class Kcat:
    def __init__(self, bootstrap, group):
        self.assigned = None
        self.records = []
        self.p = subprocess.Popen(
            [KCAT, '-b', bootstrap, '-G', group,
             '-X', 'auto.offset.reset=earliest',
             '-f', '%p:%o:%s\\n', '-u',
             '-X', 'session.timeout.ms=6000',
             '-X', 'heartbeat.interval.ms=500',
             '-X', 'auto.commit.interval.ms=500', TOPIC],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._err, daemon=True).start()
        threading.Thread(target=self._out, daemon=True).start()

    def _err(self):
        for line in self.p.stderr:
            m = ASSIGNED.search(line)
            if m:
                self.assigned = sorted(
                    int(x) for x in re.findall(r'\[(\d+)\]', m.group(1)))
            elif REVOKED.search(line):
                self.assigned = []

    def _out(self):
        for line in self.p.stdout:
            parts = line.strip().split(':', 2)
            if len(parts) == 3:
                self.records.append(parts[2])

    def kill9(self):
        os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait(10)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.kill9()


def wait_split(ms, timeout=60, hold=2.0):
    deadline = time.time() + timeout
    snap = since = None
    while time.time() < deadline:
        cur = [tuple(m.assigned or ()) for m in ms]
        allp = sorted(p for c in cur for p in c)
        if allp == list(range(NPART)) and all(cur):
            if cur != snap:
                snap, since = cur, time.time()
            elif time.time() - since >= hold:
                return True
        else:
            snap = since = None
        time.sleep(0.1)
    return False


def desc(ms):
    return '; '.join(str(m.assigned) for m in ms)


def produce(b, values):
    data = ''.join('%d\n' % v for v in values)
    for p in range(NPART):
        part = ''.join('%d\n' % v for v in values if v % NPART == p)
        if part:
            subprocess.run([KCAT, '-b', b, '-t', TOPIC, '-p', str(p),
                            '-P'], input=part, text=True, check=True,
                           timeout=30)
    return data


with Server(sys.argv[1], toml='group.initial.rebalance.delay.ms = 0\n'
            'num.partitions = 6\n') as s:
    b = s.bootstrap
    produce(b, range(60))
    a, c = Kcat(b, 'kg'), Kcat(b, 'kg')
    ms = [a, c]
    try:
        check('kcat -G: two members split 6 partitions', wait_split(ms),
              desc(ms))
        d = Kcat(b, 'kg')
        ms.append(d)
        check('kcat -G: a third member joins, all covered once',
              wait_split(ms), desc(ms))
        t0 = time.time()
        d.kill9()
        ms.remove(d)
        ok = wait_split(ms, timeout=40)
        check('kcat -G: kill -9 of a member, its partitions move '
              '(%.1f s)' % (time.time() - t0), ok, desc(ms))
        recs = sorted(int(r) for m in ms + [d] for r in m.records)
        check('kcat -G: every record consumed',
              set(recs) == set(range(60)), recs)
        time.sleep(1.5)  # auto commit
    finally:
        for m in ms:
            m.stop()
    produce(b, range(60, 66))
    e = Kcat(b, 'kg')
    deadline = time.time() + 30
    while time.time() < deadline and len(e.records) < 6:
        time.sleep(0.1)
    time.sleep(1)
    e.stop()
    got = sorted(int(r) for r in e.records)
    check('kcat -G: a restarted consumer resumes at the committed '
          'offsets', got == list(range(60, 66)), got)

finish()
