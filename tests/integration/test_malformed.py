#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Raw-socket bad input: truncated request, 2 GiB size prefix, unknown API
key, unsupported version, garbage after a valid header, slowloris. Each
must get an error response or a closed connection; the server stays up
and a well-behaved client's round trip still works afterwards. Also:
pipelined requests are answered in order, and ApiVersions advertises
exactly the served ranges. Trailing bytes after a body: ignored for
read-only APIs (librdkafka issue 5049), fatal for writes."""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, check, finish  # noqa: E402

IDLE_MS = 1500


def connect(s):
    c = socket.create_connection(('127.0.0.1', s.port), timeout=5)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def header(key, ver, corr, client=b'raw'):
    return struct.pack('>hhih', key, ver, corr, len(client)) + client


def frame(payload):
    return struct.pack('>i', len(payload)) + payload


def recv_exact(c, n):
    buf = b''
    while len(buf) < n:
        d = c.recv(n - len(buf))
        if not d:
            return None
        buf += d
    return buf


def read_response(c):
    """(correlation id, body) or None when the server closed."""
    try:
        h = recv_exact(c, 4)
        if h is None:
            return None
        (n,) = struct.unpack('>i', h)
        body = recv_exact(c, n)
        if body is None:
            return None
        return struct.unpack('>i', body[:4])[0], body[4:]
    except (ConnectionResetError, socket.timeout):
        return None


def closed(c, timeout=5):
    """True when the server closes the connection within timeout."""
    c.settimeout(timeout)
    try:
        while True:
            d = c.recv(4096)
            if not d:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def api_versions_v0(c, corr):
    c.sendall(frame(header(18, 0, corr)))
    return read_response(c)


def parse_api_versions_v0(body):
    err, n = struct.unpack('>hi', body[:6])
    ranges = {}
    for i in range(n):
        k, lo, hi = struct.unpack('>hhh', body[6 + 6 * i:12 + 6 * i])
        ranges[k] = (lo, hi)
    return err, ranges


def healthy(s, name):
    c = connect(s)
    r = api_versions_v0(c, 4242)
    c.close()
    check(name + ': server up, next client served',
          s.alive() and r is not None and r[0] == 4242)


with Server(sys.argv[1], toml='"connections.max.idle.ms" = %d\n'
            '"socket.request.max.bytes" = 10485760' % IDLE_MS) as s:
    c = connect(s)
    r = api_versions_v0(c, 7)
    err, ranges = parse_api_versions_v0(r[1])
    check('ApiVersions v0 answered', r[0] == 7 and err == 0)
    # The core APIs at exactly the served ranges; APIs that other handler
    # files add (admin, groups, idempotence) must at least be well formed.
    core = {0: (3, 11), 1: (4, 17), 2: (0, 9), 3: (0, 12),
            18: (0, 4), 19: (0, 7), 20: (0, 6)}
    check('ApiVersions advertises the core APIs at their served ranges',
          all(ranges.get(k) == v for k, v in core.items()), ranges)
    check('ApiVersions ranges well formed',
          all(0 <= k <= 87 and 0 <= lo <= hi
              for k, (lo, hi) in ranges.items()), ranges)
    # Pipelining: 50 requests in one write, answers in order.
    c.sendall(b''.join(frame(header(18, 0, 100 + i)) for i in range(50)))
    order = [read_response(c)[0] for _ in range(50)]
    check('50 pipelined requests answered in order',
          order == list(range(100, 150)), order)
    c.close()

    # Too-new ApiVersions: v0 body with UNSUPPORTED_VERSION (35).
    c = connect(s)
    c.sendall(frame(header(18, 99, 11) + b'\x00garbage-we-cannot-parse'))
    r = read_response(c)
    ok = r is not None and r[0] == 11
    if ok:
        err, ranges = parse_api_versions_v0(r[1])
        ok = err == 35 and ranges.get(18) == (0, 4)
    check('ApiVersions v99: v0 answer with UNSUPPORTED_VERSION + ranges',
          ok, r)
    # The connection stays usable.
    r = api_versions_v0(c, 12)
    check('connection usable after the fallback', r and r[0] == 12)
    c.close()
    healthy(s, 'ApiVersions fallback')

    # Truncated request: the size says 100, 20 bytes come, then EOF.
    c = connect(s)
    c.sendall(struct.pack('>i', 100) + header(3, 1, 1) + b'\x00' * 9)
    c.shutdown(socket.SHUT_WR)
    check('truncated request: connection closed', closed(c))
    c.close()
    healthy(s, 'truncated request')

    # A frame complete per its size whose body is cut short.
    c = connect(s)
    c.sendall(frame(header(3, 9, 2) + b'\x00\x05ab'))
    check('body shorter than its fields: connection closed', closed(c))
    healthy(s, 'short body')

    # 2 GiB length prefix (and a negative one).
    for name, size in [('2 GiB', 0x7fffffff), ('negative', -5),
                       ('over socket.request.max.bytes', 10485761)]:
        c = connect(s)
        c.sendall(struct.pack('>i', size) + b'x' * 64)
        check('%s size prefix: connection closed' % name, closed(c))
        c.close()
    healthy(s, 'absurd sizes')

    # Unknown API key.
    c = connect(s)
    c.sendall(frame(header(9999, 0, 3) + b'\x00\x00'))
    check('unknown API key: connection closed', closed(c))
    c = connect(s)
    c.sendall(frame(header(12, 0, 3) + b'\x00\x00'))  # Heartbeat: unserved
    check('unserved API key: connection closed', closed(c))
    healthy(s, 'unknown API key')

    # Unsupported version of a served API (Produce v0, Fetch v99).
    for k, v in [(0, 0), (1, 99), (3, 50)]:
        c = connect(s)
        c.sendall(frame(header(k, v, 5) + b'\x00' * 16))
        check('API %d v%d: connection closed' % (k, v), closed(c))
    healthy(s, 'unsupported versions')

    # Garbage after a valid header: Metadata v1 with a wild array count
    # and trailing bytes after a valid ApiVersions v0 body.
    c = connect(s)
    c.sendall(frame(header(3, 1, 6) + b'\xff\x00\x00\x07zzzz'))
    check('metadata with a garbage body: connection closed', closed(c))
    # Trailing bytes after a complete body: ignored (as Kafka does) for
    # APIs that change nothing, refused for the others (docs/server.md).
    c = connect(s)
    c.sendall(frame(header(18, 0, 6) + os.urandom(33)))
    r = read_response(c)
    check('ApiVersions v0 + 33 trailing bytes: answered',
          r is not None and r[0] == 6 and
          parse_api_versions_v0(r[1])[0] == 0, r)
    r = api_versions_v0(c, 8)
    check('connection usable after ignored trailing bytes',
          r is not None and r[0] == 8)
    c.close()
    # Produce v3 (transactional id null, acks 1, timeout 1000, no
    # topics) + 3 bytes: a write whose layout we may misread: closed.
    c = connect(s)
    c.sendall(frame(header(0, 3, 6) + b'\xff\xff\x00\x01\x00\x00\x03\xe8' +
                    b'\x00\x00\x00\x00' + b'\x01\x00\x00'))
    check('Produce + trailing bytes: connection closed', closed(c))
    healthy(s, 'garbage after header')

    # librdkafka >= 2.10 (issue 5049): all-topics Metadata v12 whose null
    # topic array is written as 4 bytes, 3 of them after the body. The
    # frame as node-rdkafka 3.6.1 (librdkafka 2.12) sent it.
    golden = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          '..', 'protocol', 'golden', 'node-rdkafka',
                          '007-Metadata-v12.bin')
    with open(golden, 'rb') as f:
        md = f.read()
    c = connect(s)
    c.sendall(frame(md))
    r = read_response(c)
    ok = r is not None and r[0] == struct.unpack('>i', md[4:8])[0]
    detail = r
    if ok:
        body = r[1]
        # header v1: tagged fields (0); throttle; brokers (compact).
        ok = body[0] == 0 and body[5] == 2
        node, hl = struct.unpack('>iB', body[6:11])
        host = body[11:11 + hl - 1].decode()
        (port,) = struct.unpack('>i', body[10 + hl:14 + hl])
        ok = ok and host and port == s.port
        detail = (node, host, port)
    check('librdkafka 2.12 Metadata v12 with 3 trailing bytes: answered '
          'with this broker', ok, detail)
    r = api_versions_v0(c, 9)
    check('connection usable after the Metadata', r and r[0] == 9)
    c.close()

    # Slowloris: a frame trickled one byte at a time must be cut off
    # once it is older than connections.max.idle.ms.
    c = connect(s)
    req = frame(header(18, 0, 9) + b'\x00' * 200)
    t0 = time.time()
    cut = False
    for i, byte in enumerate(req):
        try:
            c.send(bytes([byte]))
        except OSError:
            cut = True
            break
        c.settimeout(0.2)
        try:
            if c.recv(1) == b'':
                cut = True
                break
        except socket.timeout:
            pass
        if time.time() - t0 > 10:
            break
    dt = time.time() - t0
    check('slowloris: partial request cut off after the idle limit',
          cut and IDLE_MS / 1000 <= dt < IDLE_MS / 1000 + 3, dt)
    c.close()
    # Idle connection closed.
    c = connect(s)
    t0 = time.time()
    check('idle connection closed', closed(c, 6) and
          time.time() - t0 >= IDLE_MS / 1000 - 0.1)
    healthy(s, 'slowloris')

    # A normal client in parallel with a bad one is unaffected.
    good = connect(s)
    bad = connect(s)
    bad.sendall(struct.pack('>i', 0x7fffffff))
    r = api_versions_v0(good, 77)
    check('a good client beside a bad one is served', r and r[0] == 77)
    check('the bad one is closed', closed(bad))
    good.close()
    check('server alive at the end', s.alive())
    check('metrics count connections accepted',
          s.metric('chronik_connections_accepted_total') >= 20)
    check('graceful stop', s.stop() == 0, s.log_tail())
finish()
