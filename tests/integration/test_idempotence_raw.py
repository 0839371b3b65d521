#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Idempotence on the wire (raw sockets, stdlib only): InitProducerId
versions, the KIP-360 epoch bump and fencing (also across a kill -9
restart), transactional ids refused; Produce of hand-built idempotent
batches: a duplicate answered with the original offset and not
appended, a gap, an old epoch, a new epoch not starting at 0, and a
multi-batch partition whose second batch is bad leaves nothing
appended."""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, check, finish  # noqa: E402

_T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    _T.append(c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(v):
    v = (v << 1) ^ (v >> 63)
    out = b''
    while v >= 0x80:
        out += bytes([(v & 0x7F) | 0x80])
        v >>= 7
    return out + bytes([v])


def batch(pid, epoch, seq, n, crc_ok=True):
    recs = b''
    for i in range(n):
        val = b'v%d' % (seq + i)
        body = (b'\x00' + varint(0) + varint(i) + varint(-1) +
                varint(len(val)) + val + varint(0))
        recs += varint(len(body)) + body
    ts = int(time.time() * 1000)
    after = struct.pack('>hiqqqhii', 0, n - 1, ts, ts, pid, epoch, seq,
                        n) + recs
    crc = crc32c(after) ^ (0 if crc_ok else 1)
    inner = struct.pack('>ibI', 0, 2, crc) + after
    return struct.pack('>qi', 0, len(inner)) + inner


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=10)
        self.corr = 0

    def call(self, key, ver, body, flexible=False):
        self.corr += 1
        h = struct.pack('>hhih', key, ver, self.corr, 3) + b'raw'
        if flexible:
            h += b'\x00'
        msg = h + body
        self.s.sendall(struct.pack('>i', len(msg)) + msg)
        n = struct.unpack('>i', self.recv(4))[0]
        data = self.recv(n)
        assert struct.unpack('>i', data[:4])[0] == self.corr
        return data[5:] if flexible else data[4:]

    def recv(self, n):
        b = b''
        while len(b) < n:
            chunk = self.s.recv(n - len(b))
            if not chunk:
                raise OSError('closed')
            b += chunk
        return b


def init_pid(c, ver, pid=-1, epoch=-1, txn=None):
    if ver >= 2:  # flexible: compact nullable string, tagged fields
        t = b'\x00' if txn is None else bytes([len(txn) + 1]) + txn
        body = t + struct.pack('>i', 60000)
        if ver >= 3:
            body += struct.pack('>qh', pid, epoch)
        body += b'\x00'
        r = c.call(22, ver, body, flexible=True)
    else:
        t = struct.pack('>h', -1) if txn is None else \
            struct.pack('>h', len(txn)) + txn
        r = c.call(22, ver, t + struct.pack('>i', 60000))
    _, err, pid, epoch = struct.unpack('>ihqh', r[:16])
    return err, pid, epoch


def produce(c, topic, part, blobs):
    recs = b''.join(blobs)
    body = (struct.pack('>hhi', -1, -1, 10000) + struct.pack('>i', 1) +
            struct.pack('>h', len(topic)) + topic + struct.pack('>i', 1) +
            struct.pack('>ii', part, len(recs)) + recs)
    r = c.call(0, 3, body)
    (nt,) = struct.unpack('>i', r[:4])
    (tl,) = struct.unpack('>h', r[4:6])
    p = 6 + tl
    _, _, err, base = struct.unpack('>iihq', r[p:p + 18])
    return err, base


s = Server(sys.argv[1])
s.start()
c = Conn(s.port)
# ApiVersions v0: InitProducerId advertised from v0.
r = c.call(18, 0, b'')
n = struct.unpack('>i', r[2:6])[0]
apis = {struct.unpack('>hhh', r[6 + 6 * i:12 + 6 * i])[0]:
        struct.unpack('>hhh', r[6 + 6 * i:12 + 6 * i])[1:]
        for i in range(n)}
check('InitProducerId advertised as 0-5', apis.get(22) == (0, 5),
      apis.get(22))

e0, a, ea = init_pid(c, 0)
e1, b, eb = init_pid(c, 2)
check('v0 and v2 give new ids with epoch 0',
      e0 == 0 and e1 == 0 and a >= 0 and b > a and ea == 0 and eb == 0,
      (e0, a, ea, e1, b, eb))
err, p, ep = init_pid(c, 4, a, 0)
check('v4 epoch bump: same id, epoch 1', (err, p, ep) == (0, a, 1),
      (err, p, ep))
err, _, _ = init_pid(c, 4, a, 0)
check('v4 stale epoch: PRODUCER_FENCED', err == 90, err)
err, _, _ = init_pid(c, 3, a, 0)
check('v3 stale epoch: INVALID_PRODUCER_EPOCH', err == 47, err)
err, _, _ = init_pid(c, 4, txn=b'tx1')
check('transactional id: TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
      err == 53, err)
err, p2, ep2 = init_pid(c, 5, 123456789, 3)
check('unknown id: a new id, epoch 0',
      err == 0 and p2 > b and ep2 == 0, (err, p2, ep2))

# Produce (auto-created topic).
T = b'rawidem'
c.call(3, 1, struct.pack('>i', 1) + struct.pack('>h', len(T)) + T)
time.sleep(0.2)
err, base = produce(c, T, 0, [batch(a, 1, 0, 3)])
check('first idempotent batch at offset 0', (err, base) == (0, 0),
      (err, base))
err, base = produce(c, T, 0, [batch(a, 1, 3, 2)])
check('next batch at offset 3', (err, base) == (0, 3), (err, base))
err, base = produce(c, T, 0, [batch(a, 1, 0, 3)])
check('duplicate: no error, original offset 0', (err, base) == (0, 0),
      (err, base))
err, base = produce(c, T, 0, [batch(a, 1, 9, 1)])
check('gap: OUT_OF_ORDER_SEQUENCE_NUMBER', err == 45, err)
err, base = produce(c, T, 0, [batch(a, 0, 5, 1)])
check('old epoch: INVALID_PRODUCER_EPOCH', err == 47, err)
err, base = produce(c, T, 0, [batch(a, 2, 5, 1)])
check('new epoch not at 0: OUT_OF_ORDER_SEQUENCE_NUMBER', err == 45, err)
err, base = produce(c, T, 0, [batch(a, 1, 5, 2), batch(a, 1, 7, 2,
                                                       crc_ok=False)])
check('two batches, second corrupt: rejected', err == 2, err)
err, base = produce(c, T, 0, [batch(a, 1, 5, 2), batch(a, 1, 8, 2)])
check('two batches, second out of sequence: rejected', err == 45, err)
err, base = produce(c, T, 0, [batch(a, 1, 5, 2), batch(a, 1, 7, 2)])
check('nothing of them was appended: the good pair lands at 5',
      (err, base) == (0, 5), (err, base))

# kill -9: ids, epochs and producer state survive.
s.kill9()
s.start()
c = Conn(s.port)
err, base = produce(c, T, 0, [batch(a, 1, 7, 2)])
check('after kill -9: duplicate of a batch before the crash, original '
      'offset', (err, base) == (0, 7), (err, base))
err, base = produce(c, T, 0, [batch(a, 1, 9, 1)])
check('after kill -9: the sequence continues', (err, base) == (0, 9),
      (err, base))
err, p, ep = init_pid(c, 4, a, 1)
check('after kill -9: epoch bump of the stored epoch', (err, p, ep) ==
      (0, a, 2), (err, p, ep))
err, p3, _ = init_pid(c, 0)
check('after kill -9: new ids never reuse old ones', err == 0 and
      p3 > p2, (p3, p2))
err, base = produce(c, T, 0, [batch(a, 1, 10, 1)])
check('epoch 1 still accepted until epoch 2 reaches the partition',
      err == 0 and base == 10, (err, base))
err, base = produce(c, T, 0, [batch(a, 2, 0, 1)])
check('new epoch from 0', (err, base) == (0, 11), (err, base))
err, base = produce(c, T, 0, [batch(a, 1, 11, 1)])
check('old epoch now fenced', err == 47, err)
check('graceful stop', s.stop() == 0, s.log_tail())
finish()
