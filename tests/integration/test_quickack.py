#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A request the broker cannot answer at once has its bytes acknowledged
at once (TCP_QUICKACK), not when the response carries the ACK.

Why it matters: librdkafka keeps Nagle's algorithm on by default
(socket.nagle.disable=false), so it holds its next small request until
everything it sent is acknowledged. A delayed ACK would leave one request
at a time in flight behind each WAL sync.

How: a raw client socket with Nagle on pipelines once (two ApiVersions
in one write: the broker only does this for clients that pipeline, as
librdkafka does), then in each round makes enough ApiVersions round
trips for Linux to treat the connection as interactive (delayed ACKs,
at least 40 ms), sends a Fetch that long-polls an empty partition for
1.5 s and watches the socket's own TCP_INFO: tcpi_unacked must drop to 0
within 30 ms, long before the response. The Fetch's answer is then read
and checked (empty, no error), and the connection stays usable."""
import os
import socket
import struct
import sys
import time
sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, check, finish, skip  # noqa: E402
from kraw import R, Raw, W  # noqa: E402

TOPIC = 'qa'
TCPI_UNACKED = 24  # offset of tcpi_unacked in struct tcp_info
ROUNDS = 5
WINDOW = 0.030


def unacked(sock):
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return struct.unpack_from('I', info, TCPI_UNACKED)[0]


def long_poll_fetch(corr):
    """Fetch v4, 1.5 s max wait, 1 byte min, partition 0 from offset 0."""
    name = TOPIC.encode()
    hdr = struct.pack('>hhih', 1, 4, corr, 2) + b'qa'
    body = struct.pack('>iiiib', -1, 1500, 1, 1 << 20, 0)
    body += struct.pack('>ih', 1, len(name)) + name
    body += struct.pack('>iiqi', 1, 0, 0, 1 << 20)
    return struct.pack('>i', len(hdr) + len(body)) + hdr + body


def main():
    if len(sys.argv) < 2:
        skip('usage: test_quickack.py CHRONIK_SERVER')
    if not hasattr(socket, 'TCP_INFO'):
        skip('no TCP_INFO on this platform')
    with Server(sys.argv[1]) as s:
        c = Raw(s.bootstrap)
        c.call(19, 0, W().i32(1).s(TOPIC).i32(1).i16(1).i32(0).i32(0).i32(5000),
               flexible=False)
        sock = c.sock
        check('the client socket has Nagle on (no TCP_NODELAY)',
              sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0)
        two = b''
        for k in (1, 2):
            h = W().i16(18).i16(0).i32(1000 + k).s('pipelined')
            two += struct.pack('>i', len(h.buf)) + bytes(h.buf)
        sock.sendall(two)
        corrs = []
        for _ in (1, 2):
            size = struct.unpack('>i', c._recv(4))[0]
            corrs.append(R(c._recv(size)).i32())
        check('two pipelined ApiVersions answered in order',
              corrs == [1001, 1002], str(corrs))
        acked = []
        for r in range(ROUNDS):
            for _ in range(30):
                c.call(18, 0, W(), flexible=False)
            c.corr += 1
            corr = c.corr
            sent = time.monotonic()
            sock.sendall(long_poll_fetch(corr))
            took = None
            while time.monotonic() - sent < WINDOW:
                if unacked(sock) == 0:
                    took = time.monotonic() - sent
                    break
                time.sleep(0.0005)
            acked.append(took)
            size = struct.unpack('>i', c._recv(4))[0]
            resp = R(c._recv(size))
            waited = time.monotonic() - sent
            ok = resp.i32() == corr
            resp.i32()                      # throttle
            ok = ok and resp.i32() == 1 and resp.s() == TOPIC
            ok = ok and resp.i32() == 1 and resp.i32() == 0
            err = resp.i16()
            hw = resp.i64()
            resp.i64()                      # last stable offset
            aborted = resp.i32()
            records = resp.i32()
            check('round %d: the long poll answers after its wait, empty, '
                  'no error' % r,
                  ok and err == 0 and hw == 0 and
                  records in (-1, 0) and
                  aborted in (-1, 0) and 1.0 <= waited < 10,
                  'corr ok %s err %d hw %d records %d waited %.3f s' %
                  (ok, err, hw, records, waited))
        fast = [t for t in acked if t is not None]
        print('# ACK of the parked Fetch after: %s' % ', '.join(
            '%.1f ms' % (t * 1e3) if t is not None else '> %d ms' %
            (WINDOW * 1e3) for t in acked))
        # At least 4 of 5 rounds, so that one scheduling stall on a busy
        # machine does not fail the test; without the quick ACK none is
        # acknowledged within the window.
        check('the bytes of a parked request are acknowledged within '
              '%d ms (%d of %d rounds)' % (WINDOW * 1e3, len(fast), ROUNDS),
              len(fast) >= ROUNDS - 1)
        check('the connection still answers ApiVersions',
              c.call(18, 0, W(), flexible=False).i16() == 0)
        c.close()
    finish()


if __name__ == '__main__':
    main()
