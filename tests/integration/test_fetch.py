#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Fetch served with sendfile: records in segment files spliced into the
response, the in-memory tail copied. Raw Fetch v4 (int32 records length)
and v12 (flexible, varint length) requests pipelined with ApiVersions:
answers in order, every batch at its offset, every value as produced; a
reader that does not read for a while (sendfile meets a full socket
buffer and waits for it to drain); several segments (small
segment.bytes); a confluent-kafka consumer reads everything back; consume
throughput is printed."""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, check, finish, skip  # noqa: E402

try:
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:
    skip('confluent-kafka missing: %s' % e)

TOPIC = 'zc'
N = 40000
VALUE = 500


def value(i):
    v = ('v%08d-' % i).encode()
    return (v * (VALUE // len(v) + 1))[:VALUE]


def frame(payload):
    return struct.pack('>i', len(payload)) + payload


def recv_exact(c, n):
    buf = bytearray()
    while len(buf) < n:
        d = c.recv(min(n - len(buf), 1 << 20))
        if not d:
            return None
        buf += d
    return bytes(buf)


def read_response(c):
    h = recv_exact(c, 4)
    if h is None:
        return None
    (n,) = struct.unpack('>i', h)
    body = recv_exact(c, n)
    if body is None:
        return None
    return struct.unpack('>i', body[:4])[0], body[4:]


def uvarint(b, i):
    shift = v = 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7f) << shift
        if not x & 0x80:
            return v, i
        shift += 7


def svarint(b, i):
    v, i = uvarint(b, i)
    return (v >> 1) ^ -(v & 1), i


def uvarint_enc(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7f) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def fetch_req(ver, corr, offset, max_bytes, part_max):
    name = TOPIC.encode()
    if ver < 12:
        hdr = struct.pack('>hhih', 1, ver, corr, 3) + b'raw'
        body = struct.pack('>iiiib', -1, 0, 1, max_bytes, 0)
        body += struct.pack('>ih', 1, len(name)) + name
        body += struct.pack('>iiqi', 1, 0, offset, part_max)
        return frame(hdr + body)
    hdr = struct.pack('>hhih', 1, ver, corr, 3) + b'raw' + b'\x00'
    body = struct.pack('>iiiib', -1, 0, 1, max_bytes, 0)
    body += struct.pack('>ii', 0, -1)         # session id, epoch
    body += uvarint_enc(2) + uvarint_enc(len(name) + 1) + name
    body += uvarint_enc(2)
    body += struct.pack('>iiqiqi', 0, -1, offset, -1, -1, part_max)
    body += b'\x00'                           # partition tags
    body += b'\x00'                           # topic tags
    body += uvarint_enc(1) + uvarint_enc(1)   # forgotten, rack ''
    body += b'\x00'                           # request tags
    return frame(hdr + body)


def parse_fetch(ver, body):
    """(error, high watermark, records bytes) of the one partition."""
    i = 0
    if ver >= 12:
        i += 1                                # header tags
    i += 4                                    # throttle
    if ver >= 12:
        i += 2 + 4                            # error, session id
        _, i = uvarint(body, i)               # topics
        n, i = uvarint(body, i)               # topic name
        i += n - 1
        _, i = uvarint(body, i)               # partitions
    else:
        i += 4
        (n,) = struct.unpack('>h', body[i:i + 2])
        i += 2 + n + 4
    _, err, hw, _ = struct.unpack('>ihqq', body[i:i + 22])
    i += 22
    if ver >= 5:
        i += 8                                # log start offset
    if ver >= 12:
        _, i = uvarint(body, i)               # aborted (null: 0)
        i += 4                                # preferred replica
        n, i = uvarint(body, i)
        return err, hw, body[i:i + n - 1]
    (na,) = struct.unpack('>i', body[i:i + 4])
    i += 4 + max(na, 0) * 16
    (n,) = struct.unpack('>i', body[i:i + 4])
    return err, hw, body[i + 4:i + 4 + n]


def check_records(recs, first):
    """Walk whole batches from offset `first`; returns (next offset,
    problem or None). Values are checked record by record."""
    i = 0
    nxt = first
    while i + 12 <= len(recs):
        base, blen = struct.unpack('>qi', recs[i:i + 12])
        if i + 12 + blen > len(recs):
            break                             # partial batch at the end
        b = recs[i:i + 12 + blen]
        count = struct.unpack('>i', b[57:61])[0]
        if base > nxt or base + count <= nxt:
            return nxt, 'batch at %d, expected %d' % (base, nxt)
        j = 61
        for _ in range(count):
            _, j = svarint(b, j)              # length
            j += 1                            # attributes
            _, j = svarint(b, j)              # timestamp delta
            od, j = svarint(b, j)
            kl, j = svarint(b, j)
            j += max(kl, 0)
            vl, j = svarint(b, j)
            v = b[j:j + vl]
            j += vl
            hc, j = svarint(b, j)
            for _ in range(hc):
                hl, j = svarint(b, j)
                j += hl
                hl, j = svarint(b, j)
                j += max(hl, 0)
            off = base + od
            if off >= nxt:
                if off != nxt or v != value(off):
                    return nxt, 'record %d: bad value or offset' % off
                nxt = off + 1
        i += 12 + blen
    return nxt, None


def fetch_all(s, ver, max_bytes, pause=0.0):
    """Read the topic from 0 to the end with pipelined fetches, each
    followed by an ApiVersions; returns (records, problem)."""
    c = socket.create_connection(('127.0.0.1', s.port), timeout=30)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    nxt = 0
    corr = 1
    while nxt < N:
        # Two fetches of the same range and an ApiVersions between.
        c.sendall(fetch_req(ver, corr, nxt, max_bytes, max_bytes) +
                  frame(struct.pack('>hhih', 18, 0, corr + 1, 3) + b'raw') +
                  fetch_req(ver, corr + 2, nxt, max_bytes, max_bytes))
        if pause:
            time.sleep(pause)                 # let the socket fill up
        got = [read_response(c) for _ in range(3)]
        if any(g is None for g in got):
            return nxt, 'connection closed'
        if [g[0] for g in got] != [corr, corr + 1, corr + 2]:
            return nxt, 'out of order: %s' % [g[0] for g in got]
        e1, hw, r1 = parse_fetch(ver, got[0][1])
        e2, _, r2 = parse_fetch(ver, got[2][1])
        if e1 or e2 or r1 != r2:
            return nxt, 'error %d/%d or different answers' % (e1, e2)
        n2, prob = check_records(r1, nxt)
        if prob:
            return nxt, prob
        if n2 == nxt:
            return nxt, 'no progress at %d (hw %d)' % (nxt, hw)
        nxt = n2
        corr += 3
    c.close()
    return nxt, None


with Server(sys.argv[1]) as s:
    a = AdminClient({'bootstrap.servers': s.bootstrap})
    fs = a.create_topics([NewTopic(TOPIC, 1, 1, config={
        'segment.bytes': str(4 << 20)})])
    fs[TOPIC].result(30)
    p = Producer({'bootstrap.servers': s.bootstrap, 'linger.ms': 5,
                  'compression.type': 'none', 'acks': 'all'})
    for i in range(N):
        while True:
            try:
                p.produce(TOPIC, value(i), key=b'k%d' % i)
                break
            except BufferError:
                p.poll(0.1)
    check('all produced', p.flush(60) == 0)
    # Let the segment writer move everything into the segments.
    time.sleep(1.5)

    for ver in (4, 12):
        t0 = time.time()
        n, prob = fetch_all(s, ver, 1 << 20)
        dt = time.time() - t0
        check('Fetch v%d: every record at its offset, pipelined answers '
              'in order' % ver, n == N and prob is None, (n, prob))
        print('# Fetch v%d raw: %.1f MB in %.2f s' % (
            ver, N * VALUE / 1e6, dt))
    n, prob = fetch_all(s, 12, 8 << 20, pause=0.3)
    check('slow reader (socket buffer full, sendfile waits): intact',
          n == N and prob is None, (n, prob))

    # A topic whose newest data is still in memory: produce and fetch at
    # once, through the copy path and the splice path together.
    c = Consumer({'bootstrap.servers': s.bootstrap, 'group.id': 'g',
                  'enable.auto.commit': False,
                  'fetch.max.bytes': 50 << 20,
                  'max.partition.fetch.bytes': 50 << 20})
    c.assign([TopicPartition(TOPIC, 0, 0)])
    seen = 0
    ok = True
    t0 = time.time()
    while seen < N and time.time() - t0 < 60:
        for m in c.consume(10000, 1.0):
            if m.error():
                continue
            if m.offset() != seen or m.value() != value(seen):
                ok = False
            seen += 1
    dt = time.time() - t0
    c.close()
    check('confluent-kafka consumer reads everything back', ok and
          seen == N, seen)
    print('# confluent-kafka consume: %d messages in %.2f s' % (seen, dt))
    # WAL metrics come from the WAL's own statistics.
    check('chronik_wal_syncs_total from the WAL',
          s.metric('chronik_wal_syncs_total') > 0)
    check('chronik_wal_sync_records counts write batches',
          s.metric('chronik_wal_sync_records_count') > 0 and
          s.metric('chronik_wal_sync_records_sum') > 0)
    check('chronik_wal_sync_seconds times the syncs',
          s.metric('chronik_wal_sync_seconds_count') ==
          s.metric('chronik_wal_syncs_total') and
          s.metric('chronik_wal_sync_seconds_sum') > 0)

    # Deleting the topic deletes its partition logs: the name created
    # again starts empty (also after a restart).
    a.delete_topics([TOPIC])[TOPIC].result(30)
    t0 = time.time()
    while True:
        try:
            a.create_topics([NewTopic(TOPIC, 1, 1)])[TOPIC].result(30)
            break
        except Exception as e:  # marked for deletion: retry briefly
            if time.time() - t0 > 10:
                raise
            time.sleep(0.1)
    p.produce(TOPIC, b'fresh')
    p.flush(30)
    s.stop()
    s.start()
    c = Consumer({'bootstrap.servers': s.bootstrap, 'group.id': 'g2',
                  'enable.auto.commit': False})
    c.assign([TopicPartition(TOPIC, 0, 0)])
    got = []
    t0 = time.time()
    while time.time() - t0 < 5 and len(got) < 2:
        got += [(m.offset(), m.value()) for m in c.consume(100, 0.5)
                if not m.error()]
    c.close()
    check('topic deleted and created again: only the new record',
          got == [(0, b'fresh')], got[:3])
    dirs = os.listdir(os.path.join(s.data_dir, 'topics'))
    check('no partition directory of the deleted topic left',
          dirs == [TOPIC + '-0'], dirs)
    check('server alive', s.alive())
    check('graceful stop', s.stop() == 0, s.log_tail())
finish()
