#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Test docs/examples/kafka-proxy in front of the real chronik-server.

  proxy_server_test.py PROXY_BINARY CHRONIK_SERVER

Run by proxy-test.sh through tests/install/example-test.sh (RUN_WRAPPER),
so PROXY_BINARY was built against the installed libchronik-protocol with
pkg-config. The server is started by tests/integration/harness.py
(127.0.0.1, port 0, temp data dir) and stopped by PID; kcat talks only
to the proxy.

Checks: kcat -L through the proxy lists the proxy as the only broker and
the same topics as the server; keyed messages with headers (one of
200 KiB, one batch zstd-compressed) over 3 partitions produced through
the proxy and consumed back through it with every field compared (key,
value, headers, partition, dense offsets, timestamp type) and identical
to a direct read from the server; a kcat balanced consumer (-G) through
the proxy: FindCoordinator rewritten to the proxy, one member gets all
partitions and every record, a second member splits them, both consume
new records of their own partitions only, and a restarted member
resumes at the offsets committed through the proxy; the group APIs
appear in the proxy log; proxy and server exit 0 on SIGTERM.
Exit 0 on success, 1 on failure, 77 without kcat.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, HERE)
from harness import Server  # noqa: E402
from proxy_test import Proxy  # noqa: E402

HOST = "127.0.0.1"
KCAT = shutil.which("kcat") or shutil.which("kafkacat")
TOPIC = "px3"
NPART = 3
FAILURES = []


def check(cond, what, detail=None):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)
        if detail is not None:
            print("     " + str(detail)[-1500:].replace("\n", "\n     "),
                  flush=True)
    return cond


def kcat(args, stdin=None, timeout=60):
    r = subprocess.run([KCAT] + args, input=stdin, capture_output=True,
                       text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def make_messages():
    """4 produce batches of (key, value, [(hname, hvalue), ...]); kcat -H
    applies to every message of a run, so headers differ per batch."""
    batches = []
    n = 0
    for b in range(4):
        hdrs = [("batch", str(b)), ("src", "proxy"), ("trace", "t-%d" % b)]
        msgs = []
        for i in range(60):
            value = "value-%d-%d-%s" % (b, i, "x" * (n % 37))
            if b == 1 and i == 30:
                value = "big-" + "B" * (200 << 10)
            msgs.append(("key-%d" % (n % 23), value, hdrs))
            n += 1
        batches.append(msgs)
    return batches


def produce(bootstrap, msgs, extra=()):
    """One kcat -P run; every message carries the headers of msgs[0]."""
    args = ["-P", "-b", bootstrap, "-t", TOPIC, "-K", "\t",
            "-X", "acks=all"] + list(extra)
    for hk, hv in msgs[0][2]:
        args += ["-H", "%s=%s" % (hk, hv)]
    rc, _, err = kcat(args, "".join("%s\t%s\n" % (k, v)
                                    for k, v, _ in msgs))
    return check(rc == 0, "kcat -P of %d messages through the proxy exits 0"
                 % len(msgs), err)


def consume_all(bootstrap, count):
    rc, out, err = kcat(["-C", "-b", bootstrap, "-t", TOPIC, "-J", "-e",
                         "-o", "beginning", "-c", str(count),
                         "-X", "fetch.message.max.bytes=1048576"])
    msgs = [json.loads(line) for line in out.splitlines() if line.strip()]
    msgs.sort(key=lambda m: (m["partition"], m["offset"]))
    return rc, msgs, err


def mentions_port(text, port):
    return re.search(r":%d(?!\d)" % port, text) is not None


def headers_list(h):
    return [x for kv in h for x in kv]


def test_metadata(px, srv):
    pb = "%s:%d" % (HOST, px.port)
    rc, out, err = kcat(["-L", "-J", "-b", pb])
    md = json.loads(out) if rc == 0 else {}
    check(rc == 0 and [b["name"] for b in md.get("brokers", [])] == [pb],
          "kcat -L through the proxy lists only the proxy %s" % pb,
          out + err)
    check(not mentions_port(out, srv.port),
          "kcat -L output does not show the server's port")
    rc2, out2, _ = kcat(["-L", "-J", "-b", srv.bootstrap])
    direct = json.loads(out2) if rc2 == 0 else {}

    def topics(m):
        return sorted((t["topic"], len(t["partitions"]))
                      for t in m.get("topics", []))
    check(rc2 == 0 and topics(md) == topics(direct),
          "kcat -L through the proxy and direct list the same topics",
          (topics(md), topics(direct)))


def test_produce_consume(px, srv, batches):
    pb = "%s:%d" % (HOST, px.port)
    for b, msgs in enumerate(batches):
        extra = ["-z", "zstd"] if b == 2 else []
        produce(pb, msgs, extra)
    sent = [m for b in batches for m in b]
    rc, got, err = consume_all(pb, len(sent))
    check(rc == 0 and len(got) == len(sent),
          "kcat -C through the proxy: %d of %d messages" %
          (len(got), len(sent)), err)
    # Order within a partition is the produce order; the partition is the
    # partitioner's choice (by key), the same key always in one partition.
    want = {}
    for k, v, h in sent:
        want.setdefault(k, []).append((v, headers_list(h)))
    per_key, ok, bad = {}, True, None
    part_of_key = {}
    for p in range(NPART):
        offs = [m["offset"] for m in got if m["partition"] == p]
        if offs != list(range(len(offs))):
            ok, bad = False, ("offsets of partition %d" % p, offs[:10])
    for m in got:
        k = m["key"]
        per_key.setdefault(k, []).append(
            (m["payload"], m.get("headers") or []))
        if part_of_key.setdefault(k, m["partition"]) != m["partition"]:
            ok, bad = False, ("key in two partitions", m)
        if m.get("tstype") != "create" or m.get("ts", 0) <= 0 or \
                m["topic"] != TOPIC:
            ok, bad = False, ("timestamp/topic", m)
    if per_key != want:
        ok = False
        bad = bad or ("key/value/headers differ",
                      [k for k in want if per_key.get(k) != want[k]][:5])
    check(ok, "key, value, headers, partition, offsets, timestamp type "
          "of every message match", bad)
    check(len(set(part_of_key.values())) == NPART,
          "the keys spread over all %d partitions" % NPART, part_of_key)
    big = [m for m in got if m["payload"].startswith("big-")]
    check(len(big) == 1 and len(big[0]["payload"]) == 4 + (200 << 10),
          "the 200 KiB message came back whole")
    rc, direct, err = consume_all(srv.bootstrap, len(sent))
    check(rc == 0 and direct == got,
          "a direct read from the server returns exactly the same "
          "messages (timestamps included)", err)
    return got


class GroupMember:
    """kcat -G through the proxy; records as (partition, offset, key,
    headers, value), its current assignment from the rebalance lines."""

    ASSIGNED = re.compile(r"rebalanced.*: assigned: (.*)$")
    REVOKED = re.compile(r"rebalanced.*: revoked:")

    def __init__(self, bootstrap, group, bport, tmp, name):
        self.assigned = None
        self.records = []
        self.lock = threading.Lock()
        self.bport = bport
        self.err_path = os.path.join(tmp, "kcat-%s.log" % name)
        self.errf = open(self.err_path, "w")
        self.p = subprocess.Popen(
            [KCAT, "-b", bootstrap, "-G", group,
             "-X", "auto.offset.reset=earliest",
             "-X", "session.timeout.ms=6000",
             "-X", "heartbeat.interval.ms=500",
             "-X", "auto.commit.interval.ms=300",
             "-X", "debug=broker",
             "-f", "%p\\t%o\\t%k\\t%h\\t%s\\n", "-u", TOPIC],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._err, daemon=True).start()
        threading.Thread(target=self._out, daemon=True).start()

    def _err(self):
        for line in self.p.stderr:
            self.errf.write(line)
            m = self.ASSIGNED.search(line)
            if m:
                self.assigned = sorted(
                    int(x) for x in re.findall(r"\[(\d+)\]", m.group(1)))
            elif self.REVOKED.search(line):
                self.assigned = []

    def _out(self):
        for line in self.p.stdout:
            parts = line.rstrip("\n").split("\t", 4)
            if len(parts) == 5:
                with self.lock:
                    self.records.append((int(parts[0]), int(parts[1]),
                                         parts[2], parts[3], parts[4]))

    def recs(self):
        with self.lock:
            return list(self.records)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        time.sleep(0.2)           # let the reader threads drain
        self.errf.flush()

    def debug_log(self):
        self.errf.flush()
        with open(self.err_path, errors="replace") as f:
            return f.read()


def wait_for(cond, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


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


def as_group_record(m):
    hdrs = m.get("headers") or []
    h = ",".join("%s=%s" % (hdrs[i], hdrs[i + 1])
                 for i in range(0, len(hdrs), 2))
    return (m["partition"], m["offset"], m["key"], h, m["payload"])


def test_group(px, srv, got, tmp):
    pb = "%s:%d" % (HOST, px.port)
    want = sorted(as_group_record(m) for m in got)
    a = GroupMember(pb, "pg", srv.port, tmp, "a")
    members = [a]
    try:
        ok = wait_for(lambda: a.assigned == list(range(NPART)) and
                      len(a.recs()) >= len(want), 60)
        check(ok, "kcat -G through the proxy: the first member gets all "
              "%d partitions and %d records" % (NPART, len(want)),
              (a.assigned, len(a.recs())))
        check(sorted(a.recs()) == want,
              "kcat -G: every record with key, headers, value, partition "
              "and offset as produced")
        b = GroupMember(pb, "pg", srv.port, tmp, "b")
        members.append(b)
        check(wait_split(members), "kcat -G through the proxy: a second "
              "member joins, the partitions are split",
              [m.assigned for m in members])
        before = [len(m.recs()) for m in members]
        pb_new = [("new-%d" % i, "after-split-%d" % i, [("phase", "2")])
                  for i in range(60)]
        produce(pb, pb_new)
        ok = wait_for(lambda: sum(len(m.recs()) - n for m, n in
                                  zip(members, before)) >= 60, 30)
        new = [r for m, n in zip(members, before) for r in m.recs()[n:]]
        check(ok and sorted(r[4] for r in new) ==
              sorted(v for _, v, _ in pb_new),
              "kcat -G: the 60 new records consumed by the two members",
              (len(new), [m.assigned for m in members]))
        own = all(r[0] in (m.assigned or []) for m, n in
                  zip(members, before) for r in m.recs()[n:])
        check(own, "kcat -G: each member consumed only its partitions")
        time.sleep(1.5)           # auto commit
    finally:
        for m in members:
            m.stop()
    for m in members:
        dbg = m.debug_log()
        check(not mentions_port(dbg, srv.port) and
              mentions_port(dbg, px.port),
              "kcat -G member talked only to the proxy (debug=broker log)",
              [ln for ln in dbg.splitlines()
               if mentions_port(ln, srv.port)][:3])
    check(px.wait_log(r"coordinator node 1 127\.0\.0\.1:%d -> "
                      r"127\.0\.0\.1:%d" % (srv.port, px.port)),
          "proxy log shows the FindCoordinator rewrite")
    last = [("resume-%d" % i, "after-restart-%d" % i, [("phase", "3")])
            for i in range(9)]
    produce(pb, last)
    c = GroupMember(pb, "pg", srv.port, tmp, "c")
    try:
        wait_for(lambda: len(c.recs()) >= len(last), 40)
        time.sleep(1)
    finally:
        c.stop()
    check(sorted(r[4] for r in c.recs()) ==
          sorted(v for _, v, _ in last),
          "kcat -G: a restarted member resumes at the offsets committed "
          "through the proxy", [r[4] for r in c.recs()][:12])
    log = px.log()
    for api in ("FindCoordinator", "JoinGroup", "SyncGroup", "Heartbeat",
                "OffsetCommit", "OffsetFetch", "LeaveGroup"):
        check(re.search(r"\] > %s v\d+ " % api, log) and
              re.search(r"\] < %s v\d+ " % api, log),
              "proxy log has %s requests and responses" % api)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    if not KCAT:
        print("SKIP: kcat not found")
        return 77
    proxy_bin, server_bin = sys.argv[1], sys.argv[2]
    tmp = os.environ.get("EXAMPLE_SCRATCH_DIR") or tempfile.mkdtemp()
    srv = Server(server_bin, toml="num.partitions = %d\n"
                 "group.initial.rebalance.delay.ms = 0\n" % NPART)
    srv.start()
    px = None
    try:
        px = Proxy(proxy_bin, srv.port, tmp, "proxy-server")
        print("chronik-server on %d, proxy on %d" % (srv.port, px.port),
              flush=True)
        batches = make_messages()
        got = test_produce_consume(px, srv, batches)
        test_metadata(px, srv)
        test_group(px, srv, got, tmp)
        check("malformed" not in px.log(), "proxy log has no malformed "
              "frame")
    except Exception as e:
        check(False, "unexpected %s: %s" % (type(e).__name__, e))
    finally:
        if px:
            rc = px.stop(signal.SIGTERM)
            check(rc == 0, "SIGTERM: proxy exits 0 (rc %s)" % rc)
        rc = srv.stop()
        check(rc == 0, "SIGTERM: chronik-server exits 0 (rc %s)" % rc)
    if FAILURES:
        if px:
            print("---- proxy log (last 60 lines) ----")
            print("\n".join(px.log().splitlines()[-60:]))
        print("---- server log (last 40 lines) ----")
        print(srv.log_tail())
        print("%d check(s) failed" % len(FAILURES))
        return 1
    shutil.rmtree(srv.tmp, ignore_errors=True)
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
