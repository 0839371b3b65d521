# SPDX-License-Identifier: Apache-2.0
"""A tiny raw Kafka protocol client for the APIs the installed clients do
not speak (confluent-kafka 1.7 and kafka-python 2.0 predate
DeleteRecords, IncrementalAlterConfigs, DescribeCluster, DescribeLogDirs
v4, DescribeTopicPartitions, DeleteTopics v6 and CreateTopics v7 in
their admin clients). Stdlib only.

    c = Raw('127.0.0.1:9092')
    r = c.call(60, 1, flexible=True, body=W().b(False).i8(1).tags())
    r.i32() ...
"""
import socket
import struct
import uuid


class W:
    """Request body writer."""

    def __init__(self):
        self.buf = bytearray()

    def raw(self, b):
        self.buf += b
        return self

    def i8(self, v):
        return self.raw(struct.pack('>b', v))

    def b(self, v):
        return self.i8(1 if v else 0)

    def i16(self, v):
        return self.raw(struct.pack('>h', v))

    def i32(self, v):
        return self.raw(struct.pack('>i', v))

    def i64(self, v):
        return self.raw(struct.pack('>q', v))

    def uvar(self, v):
        while v >= 0x80:
            self.buf.append((v & 0x7f) | 0x80)
            v >>= 7
        self.buf.append(v)
        return self

    def s(self, v):
        """Classic string (int16 length, -1 for None)."""
        if v is None:
            return self.i16(-1)
        e = v.encode()
        return self.i16(len(e)).raw(e)

    def cs(self, v):
        """Compact string (uvarint length + 1, 0 for None)."""
        if v is None:
            return self.uvar(0)
        e = v.encode()
        return self.uvar(len(e) + 1).raw(e)

    def arr(self, items, fn):
        if items is None:
            return self.i32(-1)
        self.i32(len(items))
        for it in items:
            fn(self, it)
        return self

    def carr(self, items, fn):
        if items is None:
            return self.uvar(0)
        self.uvar(len(items) + 1)
        for it in items:
            fn(self, it)
        return self

    def uuid(self, u):
        return self.raw(u.bytes if isinstance(u, uuid.UUID) else u)

    def tags(self):
        return self.uvar(0)


class R:
    """Response reader."""

    def __init__(self, data):
        self.d = data
        self.o = 0

    def _take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.o)[0]
        self.o += struct.calcsize(fmt)
        return v

    def i8(self):
        return self._take('>b')

    def b(self):
        return self.i8() != 0

    def i16(self):
        return self._take('>h')

    def i32(self):
        return self._take('>i')

    def i64(self):
        return self._take('>q')

    def uvar(self):
        v = shift = 0
        while True:
            c = self.d[self.o]
            self.o += 1
            v |= (c & 0x7f) << shift
            if not c & 0x80:
                return v
            shift += 7

    def s(self):
        n = self.i16()
        if n < 0:
            return None
        v = self.d[self.o:self.o + n].decode()
        self.o += n
        return v

    def cs(self):
        n = self.uvar() - 1
        if n < 0:
            return None
        v = self.d[self.o:self.o + n].decode()
        self.o += n
        return v

    def arr(self, fn):
        n = self.i32()
        return None if n < 0 else [fn(self) for _ in range(n)]

    def carr(self, fn):
        n = self.uvar() - 1
        return None if n < 0 else [fn(self) for _ in range(n)]

    def uuid(self):
        v = uuid.UUID(bytes=bytes(self.d[self.o:self.o + 16]))
        self.o += 16
        return v

    def tags(self):
        """Skip tagged fields; returns {tag: bytes}."""
        out = {}
        for _ in range(self.uvar()):
            tag = self.uvar()
            n = self.uvar()
            out[tag] = bytes(self.d[self.o:self.o + n])
            self.o += n
        return out

    def done(self):
        return self.o == len(self.d)


class Raw:
    def __init__(self, bootstrap, timeout=10):
        host, port = bootstrap.rsplit(':', 1)
        self.sock = socket.create_connection((host, int(port)), timeout)
        self.corr = 0

    def close(self):
        self.sock.close()

    def _recv(self, n):
        out = bytearray()
        while len(out) < n:
            c = self.sock.recv(n - len(out))
            if not c:
                raise ConnectionError('connection closed by the broker')
            out += c
        return bytes(out)

    def call(self, api_key, version, body, flexible):
        """Send one request; return a reader past the response header."""
        self.corr += 1
        h = W().i16(api_key).i16(version).i32(self.corr).s('chronik-test')
        if flexible:
            h.tags()
        frame = bytes(h.buf) + bytes(body.buf)
        self.sock.sendall(struct.pack('>i', len(frame)) + frame)
        size = struct.unpack('>i', self._recv(4))[0]
        r = R(self._recv(size))
        if r.i32() != self.corr:
            raise ValueError('correlation id mismatch')
        if flexible and api_key != 18:
            r.tags()
        return r
