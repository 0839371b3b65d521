#!/usr/bin/env python3
"""Capture real Kafka request frames from unmodified clients (golden vectors).

A tiny fake Kafka broker on 127.0.0.1 records every request frame it receives
(the bytes after the 4-byte size prefix: request header + body) and answers
just enough for clients to reach the interesting requests.  Requests are
decoded and responses encoded with a small codec driven by Kafka's JSON
message schemas (read at run time; the captured .bin files are what get
committed).

Python 3 standard library only.

Usage (from the repository root):
  python3 tests/protocol/golden/capture.py capture [--clients kcat,kafka-python,confluent-kafka,kafkajs]
  python3 tests/protocol/golden/capture.py check          # decode + re-encode every committed frame
  python3 tests/protocol/golden/capture.py serve --port N # broker only, frames to --raw-dir

Options: --schemas DIR (default /work/shared/kafka-protocol/messages or $KAFKA_SCHEMAS),
         --out DIR (default: this script's folder), --kafkajs-dir DIR (node_modules parent).
"""

import argparse
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SCHEMAS = os.environ.get("KAFKA_SCHEMAS", "/work/shared/kafka-protocol/messages")
SYS_PY = "/usr/bin/python3"   # interpreter that has kafka-python and confluent-kafka

# --------------------------------------------------------------------------
# Schema loading
# --------------------------------------------------------------------------


def strip_comments(text):
    """Remove // comments outside JSON strings."""
    out = []
    i, n = 0, len(text)
    in_str = False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_str = False
            i += 1
        elif c == '"':
            in_str = True
            out.append(c)
            i += 1
        elif c == "/" and i + 1 < n and text[i + 1] == "/":
            while i < n and text[i] != "\n":
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


class VRange:
    """A version range such as '0+', '1-3', '5' or 'none'."""

    def __init__(self, spec):
        spec = (spec or "none").strip()
        if spec == "none":
            self.lo, self.hi = 1, 0
        elif spec.endswith("+"):
            self.lo, self.hi = int(spec[:-1]), 1 << 15
        elif "-" in spec:
            a, b = spec.split("-")
            self.lo, self.hi = int(a), int(b)
        else:
            self.lo = self.hi = int(spec)

    def __contains__(self, v):
        return self.lo <= v <= self.hi


class Field:
    def __init__(self, d, structs):
        self.name = d["name"]
        self.type = d["type"]
        self.versions = VRange(d.get("versions"))
        self.nullable = VRange(d.get("nullableVersions", "none"))
        self.tagged = VRange(d.get("taggedVersions", "none"))
        self.tag = d.get("tag")
        self.flex_override = VRange(d["flexibleVersions"]) if "flexibleVersions" in d else None
        self.default = d.get("default")
        self.is_array = self.type.startswith("[]")
        self.elem = self.type[2:] if self.is_array else self.type
        self.fields = None   # struct fields (for struct or struct-array)
        if self.elem not in PRIMITIVES:
            sub = d.get("fields")
            if sub is None:
                sub = structs[self.elem]
            self.fields = [Field(x, structs) for x in sub]


PRIMITIVES = {"bool", "int8", "int16", "uint16", "int32", "uint32", "int64",
              "float64", "string", "bytes", "records", "uuid"}
FIXED = {"bool": ">?", "int8": ">b", "int16": ">h", "uint16": ">H", "int32": ">i",
         "uint32": ">I", "int64": ">q", "float64": ">d"}


class Message:
    def __init__(self, d):
        self.name = d["name"]
        self.kind = d["type"]
        self.api_key = d.get("apiKey")
        self.valid = VRange(d["validVersions"])
        self.flexible = VRange(d.get("flexibleVersions", "none"))
        self.unstable = d.get("latestVersionUnstable", False)
        self.listeners = d.get("listeners", [])
        structs = {}
        # common structs may reference each other; resolve lazily in order
        raw = {s["name"]: s["fields"] for s in d.get("commonStructs", [])}
        for k, v in raw.items():
            structs[k] = v
        self.fields = [Field(x, structs) for x in d["fields"]]


class Schemas:
    def __init__(self, directory):
        self.req, self.resp = {}, {}
        for fn in sorted(os.listdir(directory)):
            if not fn.endswith(".json"):
                continue
            with open(os.path.join(directory, fn), encoding="utf-8") as f:
                d = json.loads(strip_comments(f.read()))
            m = Message(d)
            if m.kind == "request":
                self.req[m.api_key] = m
            elif m.kind == "response":
                self.resp[m.api_key] = m
            elif m.kind == "header":
                if m.name == "RequestHeader":
                    self.req_header = m
                else:
                    self.resp_header = m

    def api_name(self, key):
        m = self.req.get(key)
        return m.name[:-len("Request")] if m else "Unknown%d" % key

    def request_header_version(self, key, ver):
        if key == 7 and ver == 0:        # ControlledShutdown v0 quirk
            return 0
        return 2 if ver in self.req[key].flexible else 1

    def response_header_version(self, key, ver):
        if key == 18:                    # ApiVersionsResponse: always header v0
            return 0
        return 1 if ver in self.resp[key].flexible else 0


# --------------------------------------------------------------------------
# Codec
# --------------------------------------------------------------------------


class DecodeError(Exception):
    pass


class Reader:
    def __init__(self, buf, pos=0, end=None):
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else end

    def take(self, n):
        if n < 0 or self.pos + n > self.end:
            raise DecodeError("short read: need %d at %d (end %d)" % (n, self.pos, self.end))
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return bytes(b)

    def fixed(self, fmt):
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size))[0]

    def uvarint(self):
        shift = result = 0
        while True:
            b = self.take(1)[0]
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 35:
                raise DecodeError("uvarint too long")


def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_flex(f, v, msg_flex):
    return (v in f.flex_override) if f.flex_override is not None else msg_flex


def decode_struct(r, fields, v, flex):
    out = {}
    tagged = {}
    for f in fields:
        if v not in f.versions:
            continue
        if flex and v in f.tagged:
            tagged[f.tag] = f
            continue
        out[f.name] = decode_field(r, f, v, field_flex(f, v, flex))
    if flex:
        count = r.uvarint()
        unknown = []
        last = -1
        for _ in range(count):
            tag = r.uvarint()
            size = r.uvarint()
            if tag <= last:
                raise DecodeError("tagged fields out of order")
            last = tag
            if tag in tagged:
                sub = Reader(r.buf, r.pos, r.pos + size)
                f = tagged[tag]
                out[f.name] = decode_field(sub, f, v, True)
                if sub.pos != sub.end:
                    raise DecodeError("tagged field %s: %d bytes left" % (f.name, sub.end - sub.pos))
                r.pos += size
            else:
                unknown.append((tag, r.take(size)))
        if unknown:
            out["_unknown_tags"] = unknown
    return out


def decode_field(r, f, v, flex):
    nullable = v in f.nullable
    if f.is_array:
        n = r.uvarint() - 1 if flex else r.fixed(">i")
        if n < 0:
            if not nullable:
                raise DecodeError("null array in non-nullable %s" % f.name)
            return None
        if n > r.end - r.pos:
            raise DecodeError("array %s: absurd length %d" % (f.name, n))
        return [decode_value(r, f, f.elem, v, flex, False) for _ in range(n)]
    return decode_value(r, f, f.elem, v, flex, nullable)


def decode_value(r, f, t, v, flex, nullable):
    if t in FIXED:
        return r.fixed(FIXED[t])
    if t == "uuid":
        return r.take(16)
    if t == "string":
        n = r.uvarint() - 1 if flex else r.fixed(">h")
        if n < 0:
            if not nullable:
                raise DecodeError("null string in non-nullable %s" % f.name)
            return None
        return r.take(n).decode("utf-8")
    if t in ("bytes", "records"):
        n = r.uvarint() - 1 if flex else r.fixed(">i")
        if n < 0:
            if not nullable:
                raise DecodeError("null bytes in non-nullable %s" % f.name)
            return None
        return r.take(n)
    # struct
    if nullable:
        marker = r.fixed(">b")
        if marker < 0:
            return None
    return decode_struct(r, f.fields, v, flex)


def default_value(f, v):
    t = f.elem
    if f.is_array:
        return []
    d = f.default
    if t in ("int8", "int16", "uint16", "int32", "uint32", "int64"):
        return int(d, 0) if isinstance(d, str) else (d or 0)
    if t == "float64":
        return float(d) if d is not None else 0.0
    if t == "bool":
        return d in (True, "true")
    if t == "string":
        if d == "null":
            return None
        return d if d is not None else ""
    if t == "bytes":
        return b""
    if t == "records":
        return None if v in f.nullable else b""
    if t == "uuid":
        return bytes(16)
    return {}


def encode_struct(out, obj, fields, v, flex):
    tagged = []
    for f in fields:
        if v not in f.versions:
            continue
        if flex and v in f.tagged:
            if f.name in obj:
                tagged.append(f)
            continue
        val = obj.get(f.name, default_value(f, v)) if f.name in obj else default_value(f, v)
        encode_field(out, f, val, v, field_flex(f, v, flex))
    if flex:
        items = []
        for f in tagged:
            b = bytearray()
            encode_field(b, f, obj[f.name], v, True)
            items.append((f.tag, bytes(b)))
        items.extend(obj.get("_unknown_tags", []))
        items.sort(key=lambda x: x[0])
        out += uvarint(len(items))
        for tag, b in items:
            out += uvarint(tag) + uvarint(len(b)) + b


def encode_field(out, f, val, v, flex):
    nullable = v in f.nullable
    if f.is_array:
        if val is None:
            if not nullable:
                val = []
            else:
                out += uvarint(0) if flex else struct.pack(">i", -1)
                return
        out += uvarint(len(val) + 1) if flex else struct.pack(">i", len(val))
        for x in val:
            encode_value(out, f, f.elem, x, v, flex, False)
        return
    encode_value(out, f, f.elem, val, v, flex, nullable)


def encode_value(out, f, t, val, v, flex, nullable):
    if t in FIXED:
        out += struct.pack(FIXED[t], val)
    elif t == "uuid":
        out += (val or bytes(16))
    elif t in ("string", "bytes", "records"):
        if val is None:
            if not nullable:
                val = "" if t == "string" else b""
            else:
                out += uvarint(0) if flex else (struct.pack(">h", -1) if t == "string" else struct.pack(">i", -1))
                return
        b = val.encode("utf-8") if t == "string" else val
        if flex:
            out += uvarint(len(b) + 1)
        else:
            out += struct.pack(">h" if t == "string" else ">i", len(b))
        out += b
    else:
        if nullable:
            if val is None:
                out += struct.pack(">b", -1)
                return
            out += struct.pack(">b", 1)
        encode_struct(out, val or {}, f.fields, v, flex)


def decode_request(S, frame):
    """Decode a full request frame -> (key, ver, header dict, body dict, bytes consumed)."""
    if len(frame) < 4:
        raise DecodeError("frame too short")
    key, ver = struct.unpack(">hh", frame[:4])
    if key not in S.req:
        raise DecodeError("unknown api key %d" % key)
    m = S.req[key]
    if ver not in m.valid:
        raise DecodeError("%s v%d outside valid versions" % (m.name, ver))
    hv = S.request_header_version(key, ver)
    r = Reader(frame)
    header = decode_struct(r, S.req_header.fields, hv, hv in S.req_header.flexible)
    body = decode_struct(r, m.fields, ver, ver in m.flexible)
    return key, ver, header, body, r.pos


def encode_request(S, header, body):
    key, ver = header["RequestApiKey"], header["RequestApiVersion"]
    hv = S.request_header_version(key, ver)
    out = bytearray()
    encode_struct(out, header, S.req_header.fields, hv, hv in S.req_header.flexible)
    m = S.req[key]
    encode_struct(out, body, m.fields, ver, ver in m.flexible)
    return bytes(out)


def encode_response(S, key, ver, corr, body):
    hv = S.response_header_version(key, ver)
    out = bytearray()
    encode_struct(out, {"CorrelationId": corr}, S.resp_header.fields, hv, hv in S.resp_header.flexible)
    m = S.resp[key]
    encode_struct(out, body, m.fields, ver, ver in m.flexible)
    return bytes(out)


# --------------------------------------------------------------------------
# Record batches (only what the fake broker and the checker need)
# --------------------------------------------------------------------------

_CRC32C = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def split_batches(data):
    """Split a record set into (offset, magic, count, bytes) entries."""
    out = []
    pos = 0
    while pos + 12 <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        total = 12 + length
        if length < 0 or pos + total > len(data):
            raise DecodeError("truncated batch at %d" % pos)
        magic = data[pos + 16]
        if magic == 2:
            last_delta = struct.unpack_from(">i", data, pos + 23)[0]
            count = last_delta + 1
        else:
            count = 1
        out.append((base, magic, count, bytes(data[pos:pos + total])))
        pos += total
    if pos != len(data):
        raise DecodeError("%d trailing bytes in record set" % (len(data) - pos))
    return out


def check_batch(b):
    """Verify a v2 batch CRC and record count; returns a short description."""
    magic = b[16]
    if magic != 2:
        return "magic%d" % magic
    crc = struct.unpack_from(">I", b, 17)[0]
    if crc32c(b[21:]) != crc:
        raise DecodeError("batch CRC mismatch")
    attrs = struct.unpack_from(">h", b, 21)[0]
    codec = ["none", "gzip", "snappy", "lz4", "zstd"][attrs & 7]
    nrec = struct.unpack_from(">i", b, 57)[0]
    return "%s:%d" % (codec, nrec)


# --------------------------------------------------------------------------
# Fake broker
# --------------------------------------------------------------------------


def advertised_ranges(S):
    """A Kafka 3.x broker-like list: every broker-listener API, full range."""
    out = []
    for key in sorted(S.req):
        m = S.req[key]
        if m.unstable:
            continue
        if not ({"broker", "zkBroker"} & set(m.listeners)):
            continue
        if key in (4, 5, 6, 7, 27, 58, 67):   # inter-broker only
            continue
        out.append((key, m.valid.lo, m.valid.hi))
    return out


class State:
    def __init__(self, default_partitions):
        self.lock = threading.RLock()
        self.partitions = default_partitions
        self.topics = {}          # name -> (uuid bytes, nparts)
        self.logs = {}            # (topic, part) -> [ (base, bytes) ], next offset
        self.next = {}
        self.groups = {}          # group -> dict
        self.commits = {}         # (group, topic, part) -> offset
        self.pid = 1000
        self.member_seq = 0

    def topic(self, name, nparts=None, create=True):
        with self.lock:
            if name not in self.topics:
                if not create:
                    return None
                self.topics[name] = (uuid.uuid4().bytes, nparts or self.partitions)
            return self.topics[name]

    def topic_by_id(self, tid):
        with self.lock:
            for name, (u, n) in self.topics.items():
                if u == tid:
                    return name
        return None


class Broker:
    def __init__(self, S, port=0, default_partitions=3, apiversions_max=None):
        self.S = S
        self.state = State(default_partitions)
        self.frames = []          # (tag, frame bytes)
        self.frames_lock = threading.Lock()
        self.tag = "default"
        self.apiversions_max = apiversions_max
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.conns = set()
        self.log = []

    def start(self):
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()

    def stop(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass
        self.close_conns()

    def close_conns(self):
        for c in list(self.conns):
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.add(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _recv(self, c, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = c.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return bytes(buf)

    def _serve(self, c):
        try:
            while True:
                size = struct.unpack(">i", self._recv(c, 4))[0]
                if size < 4 or size > 64 << 20:
                    return
                frame = self._recv(c, size)
                with self.frames_lock:
                    self.frames.append((self.tag, frame))
                resp = self.handle(frame)
                if resp is not None:
                    c.sendall(struct.pack(">i", len(resp)) + resp)
        except (EOFError, OSError):
            pass
        except Exception as e:   # keep serving other connections
            self.log.append("handler error: %r" % (e,))
        finally:
            self.conns.discard(c)
            try:
                c.close()
            except OSError:
                pass

    # ---- request handling ----

    def handle(self, frame):
        S = self.S
        key, ver, corr = struct.unpack(">hhi", frame[:8])
        if key == 18:
            max_v = self.apiversions_max if self.apiversions_max is not None else S.req[18].valid.hi
            if ver > max_v:
                return self.apiversions_unsupported(corr)
        if key not in S.req or ver not in S.req[key].valid:
            self.log.append("unsupported request key=%d v=%d" % (key, ver))
            return None
        try:
            _, _, header, body, used = decode_request(S, frame)
            if used != len(frame):
                self.log.append("%s v%d: %d trailing bytes" % (S.api_name(key), ver, len(frame) - used))
        except DecodeError as e:
            self.log.append("decode %s v%d failed: %s" % (S.api_name(key), ver, e))
            return None
        fn = getattr(self, "h_" + S.api_name(key), None)
        resp = fn(ver, body) if fn else {}
        if resp is None:
            return None
        if key == 0 and body.get("Acks") == 0:
            return None
        return encode_response(S, key, ver, corr, resp)

    def apiversions_unsupported(self, corr):
        out = bytearray(struct.pack(">i", corr))
        out += struct.pack(">h", 35)
        ranges = self._ranges()
        out += struct.pack(">i", len(ranges))
        for k, lo, hi in ranges:
            out += struct.pack(">hhh", k, lo, hi)
        return bytes(out)

    def _ranges(self):
        r = []
        for k, lo, hi in advertised_ranges(self.S):
            if k == 18 and self.apiversions_max is not None:
                hi = min(hi, self.apiversions_max)
            r.append((k, lo, hi))
        return r

    def h_ApiVersions(self, v, b):
        return {"ErrorCode": 0, "ThrottleTimeMs": 0,
                "ApiKeys": [{"ApiKey": k, "MinVersion": lo, "MaxVersion": hi} for k, lo, hi in self._ranges()]}

    def _broker(self):
        return {"NodeId": 1, "Host": "127.0.0.1", "Port": self.port, "Rack": None}

    def _partitions_md(self, n):
        return [{"ErrorCode": 0, "PartitionIndex": i, "LeaderId": 1, "LeaderEpoch": 0,
                 "ReplicaNodes": [1], "IsrNodes": [1], "OfflineReplicas": []} for i in range(n)]

    def h_Metadata(self, v, b):
        st = self.state
        req = b.get("Topics")
        if req is None or (v == 0 and req == []):
            names = sorted(st.topics)
        else:
            names = []
            for t in req:
                name = t.get("Name")
                if name is None and t.get("TopicId"):
                    name = st.topic_by_id(t["TopicId"])
                if name is not None:
                    st.topic(name)
                    names.append(name)
        topics = []
        for name in names:
            tid, n = st.topic(name)
            topics.append({"ErrorCode": 0, "Name": name, "TopicId": tid, "IsInternal": False,
                           "Partitions": self._partitions_md(n), "TopicAuthorizedOperations": -2147483648})
        return {"ThrottleTimeMs": 0, "Brokers": [self._broker()], "ClusterId": "chronik-golden-capture",
                "ControllerId": 1, "Topics": topics, "ClusterAuthorizedOperations": -2147483648}

    def h_Produce(self, v, b):
        st = self.state
        out = []
        for t in b.get("TopicData", []):
            name = t["Name"]
            st.topic(name)
            parts = []
            for p in t.get("PartitionData", []):
                idx = p["Index"]
                base = self._append(name, idx, p.get("Records") or b"")
                parts.append({"Index": idx, "ErrorCode": 0, "BaseOffset": base, "LogAppendTimeMs": -1,
                              "LogStartOffset": 0, "RecordErrors": [], "ErrorMessage": None})
            out.append({"Name": name, "PartitionResponses": parts})
        return {"Responses": out, "ThrottleTimeMs": 0}

    def _append(self, topic, part, records):
        st = self.state
        with st.lock:
            k = (topic, part)
            base = st.next.get(k, 0)
            nxt = base
            try:
                batches = split_batches(records)
            except DecodeError:
                batches = []
            log = st.logs.setdefault(k, [])
            for _, magic, count, data in batches:
                if magic == 2:
                    data = struct.pack(">q", nxt) + data[8:]
                    log.append((nxt, data))
                nxt += count
            st.next[k] = nxt
            return base

    def h_InitProducerId(self, v, b):
        with self.state.lock:
            self.state.pid += 1
            pid = self.state.pid
        return {"ThrottleTimeMs": 0, "ErrorCode": 0, "ProducerId": pid, "ProducerEpoch": 0}

    def h_FindCoordinator(self, v, b):
        if v >= 4:
            return {"ThrottleTimeMs": 0, "Coordinators": [
                {"Key": k, "NodeId": 1, "Host": "127.0.0.1", "Port": self.port, "ErrorCode": 0,
                 "ErrorMessage": None} for k in b.get("CoordinatorKeys", [])]}
        return {"ThrottleTimeMs": 0, "ErrorCode": 0, "ErrorMessage": None, "NodeId": 1,
                "Host": "127.0.0.1", "Port": self.port}

    def h_JoinGroup(self, v, b):
        st = self.state
        member = b.get("MemberId") or ""
        protos = b.get("Protocols", [])
        if not member:
            with st.lock:
                st.member_seq += 1
                member = "%s-%d-%s" % (b.get("GroupInstanceId") or "member", st.member_seq, uuid.uuid4().hex[:8])
            if v >= 4:
                return {"ErrorCode": 79, "GenerationId": -1, "ProtocolName": None, "Leader": "",
                        "MemberId": member, "Members": [], "ProtocolType": None}
        with st.lock:
            g = st.groups.setdefault(b["GroupId"], {"generation": 0})
            g["generation"] += 1
            g["protocol_type"] = b.get("ProtocolType", "consumer")
            g["protocol"] = protos[0]["Name"] if protos else ""
            g["member"] = member
            gen = g["generation"]
        return {"ThrottleTimeMs": 0, "ErrorCode": 0, "GenerationId": gen,
                "ProtocolType": b.get("ProtocolType"), "ProtocolName": protos[0]["Name"] if protos else None,
                "Leader": member, "SkipAssignment": False, "MemberId": member,
                "Members": [{"MemberId": member, "GroupInstanceId": b.get("GroupInstanceId"),
                             "Metadata": protos[0]["Metadata"] if protos else b""}]}

    def h_SyncGroup(self, v, b):
        mine = b""
        for a in b.get("Assignments", []):
            if a["MemberId"] == b["MemberId"]:
                mine = a["Assignment"]
        with self.state.lock:
            g = self.state.groups.setdefault(b["GroupId"], {"generation": 1})
            if b.get("Assignments"):
                g["assignment"] = mine
            else:
                mine = g.get("assignment", b"")
        return {"ThrottleTimeMs": 0, "ErrorCode": 0, "ProtocolType": b.get("ProtocolType"),
                "ProtocolName": b.get("ProtocolName"), "Assignment": mine}

    def h_Heartbeat(self, v, b):
        return {"ThrottleTimeMs": 0, "ErrorCode": 0}

    def h_LeaveGroup(self, v, b):
        return {"ThrottleTimeMs": 0, "ErrorCode": 0,
                "Members": [{"MemberId": m.get("MemberId", ""), "GroupInstanceId": m.get("GroupInstanceId"),
                             "ErrorCode": 0} for m in b.get("Members", [])]}

    def h_OffsetCommit(self, v, b):
        st = self.state
        topics = []
        for t in b.get("Topics", []):
            parts = []
            for p in t.get("Partitions", []):
                with st.lock:
                    st.commits[(b["GroupId"], t["Name"], p["PartitionIndex"])] = p["CommittedOffset"]
                parts.append({"PartitionIndex": p["PartitionIndex"], "ErrorCode": 0})
            topics.append({"Name": t["Name"], "Partitions": parts})
        return {"ThrottleTimeMs": 0, "Topics": topics}

    def _fetch_offsets(self, group, topics):
        st = self.state
        out = []
        if topics is None:
            with st.lock:
                names = sorted({k[1] for k in st.commits if k[0] == group})
            topics = [{"Name": n, "PartitionIndexes": [k[2] for k in st.commits if k[0] == group and k[1] == n]}
                      for n in names]
        for t in topics:
            parts = []
            for i in t.get("PartitionIndexes", []):
                off = st.commits.get((group, t["Name"], i), -1)
                parts.append({"PartitionIndex": i, "CommittedOffset": off, "CommittedLeaderEpoch": -1,
                              "Metadata": "", "ErrorCode": 0})
            out.append({"Name": t["Name"], "Partitions": parts})
        return out

    def h_OffsetFetch(self, v, b):
        if v >= 8:
            groups = [{"GroupId": g["GroupId"], "Topics": self._fetch_offsets(g["GroupId"], g.get("Topics")),
                       "ErrorCode": 0} for g in b.get("Groups", [])]
            return {"ThrottleTimeMs": 0, "Groups": groups}
        return {"ThrottleTimeMs": 0, "Topics": self._fetch_offsets(b["GroupId"], b.get("Topics")), "ErrorCode": 0}

    def h_ListOffsets(self, v, b):
        st = self.state
        topics = []
        for t in b.get("Topics", []):
            parts = []
            for p in t.get("Partitions", []):
                hwm = st.next.get((t["Name"], p["PartitionIndex"]), 0)
                ts = p.get("Timestamp", -1)
                off = 0 if ts == -2 else hwm
                parts.append({"PartitionIndex": p["PartitionIndex"], "ErrorCode": 0, "OldStyleOffsets": [off],
                              "Timestamp": -1, "Offset": off, "LeaderEpoch": 0})
            topics.append({"Name": t["Name"], "Partitions": parts})
        return {"ThrottleTimeMs": 0, "Topics": topics}

    def h_OffsetForLeaderEpoch(self, v, b):
        st = self.state
        topics = []
        for t in b.get("Topics", []):
            parts = [{"ErrorCode": 0, "Partition": p["Partition"], "LeaderEpoch": 0,
                      "EndOffset": st.next.get((t["Topic"], p["Partition"]), 0)} for p in t.get("Partitions", [])]
            topics.append({"Topic": t["Topic"], "Partitions": parts})
        return {"ThrottleTimeMs": 0, "Topics": topics}

    def h_Fetch(self, v, b):
        st = self.state
        out = []
        any_data = False
        for t in b.get("Topics", []):
            name = t.get("Topic")
            if not name and t.get("TopicId"):
                name = st.topic_by_id(t["TopicId"])
            parts = []
            for p in t.get("Partitions", []):
                idx = p["Partition"]
                with st.lock:
                    hwm = st.next.get((name, idx), 0)
                    data = b"".join(d for base, d in st.logs.get((name, idx), [])
                                    if base + struct.unpack_from(">i", d, 23)[0] >= p["FetchOffset"])
                if data:
                    any_data = True
                parts.append({"PartitionIndex": idx, "ErrorCode": 0, "HighWatermark": hwm,
                              "LastStableOffset": hwm, "LogStartOffset": 0, "AbortedTransactions": [],
                              "PreferredReadReplica": -1, "Records": data})
            out.append({"Topic": name, "TopicId": t.get("TopicId", bytes(16)), "Partitions": parts})
        if not any_data:
            time.sleep(min(b.get("MaxWaitMs", 100), 200) / 1000.0)
        return {"ThrottleTimeMs": 0, "ErrorCode": 0, "SessionId": 0, "Responses": out}

    def h_CreateTopics(self, v, b):
        st = self.state
        out = []
        for t in b.get("Topics", []):
            n = t.get("NumPartitions", -1)
            if n <= 0:
                n = len(t.get("Assignments", [])) or st.partitions
            tid, _ = st.topic(t["Name"], n)
            rf = t.get("ReplicationFactor", -1)
            out.append({"Name": t["Name"], "TopicId": tid, "ErrorCode": 0, "ErrorMessage": None,
                        "NumPartitions": n, "ReplicationFactor": 1 if rf < 0 else rf, "Configs": []})
        return {"ThrottleTimeMs": 0, "Topics": out}

    def h_DeleteTopics(self, v, b):
        st = self.state
        out = []
        names = list(b.get("TopicNames", []))
        for t in b.get("Topics", []):
            names.append(t.get("Name") or st.topic_by_id(t.get("TopicId")))
        for n in names:
            with st.lock:
                tid = st.topics.pop(n, (bytes(16), 0))[0]
            out.append({"Name": n, "TopicId": tid, "ErrorCode": 0, "ErrorMessage": None})
        return {"ThrottleTimeMs": 0, "Responses": out}

    def h_DescribeConfigs(self, v, b):
        res = []
        for r in b.get("Resources", []):
            cfgs = []
            defaults = [("cleanup.policy", "delete", 2), ("retention.ms", "604800000", 5),
                        ("compression.type", "producer", 2)] if r["ResourceType"] == 2 else \
                       [("num.partitions", "3", 5), ("log.retention.hours", "168", 5)]
            want = r.get("ConfigurationKeys")
            for name, value, ctype in defaults:
                if want and name not in want:
                    continue
                cfgs.append({"Name": name, "Value": value, "ReadOnly": False, "IsDefault": True,
                             "ConfigSource": 5, "IsSensitive": False, "Synonyms": [], "ConfigType": ctype,
                             "Documentation": None})
            res.append({"ErrorCode": 0, "ErrorMessage": None, "ResourceType": r["ResourceType"],
                        "ResourceName": r["ResourceName"], "Configs": cfgs})
        return {"ThrottleTimeMs": 0, "Results": res}

    def h_ListGroups(self, v, b):
        with self.state.lock:
            groups = [{"GroupId": g, "ProtocolType": d.get("protocol_type", "consumer"), "GroupState": "Stable",
                       "GroupType": "classic"} for g, d in sorted(self.state.groups.items())]
        return {"ThrottleTimeMs": 0, "ErrorCode": 0, "Groups": groups}

    def h_DescribeGroups(self, v, b):
        out = []
        for gid in b.get("Groups", []):
            with self.state.lock:
                g = self.state.groups.get(gid)
            out.append({"ErrorCode": 0, "GroupId": gid, "GroupState": "Stable" if g else "Dead",
                        "ProtocolType": "consumer" if g else "", "ProtocolData": (g or {}).get("protocol", ""),
                        "Members": [], "AuthorizedOperations": -2147483648})
        return {"ThrottleTimeMs": 0, "Groups": out}

    def h_ConsumerGroupHeartbeat(self, v, b):
        st = self.state
        member = b.get("MemberId") or uuid.uuid4().hex[:22]
        parts = []
        for name in b.get("SubscribedTopicNames") or []:
            tid, n = st.topic(name)
            parts.append({"TopicId": tid, "Partitions": list(range(n))})
        epoch = b.get("MemberEpoch", 0)
        if epoch == -1:        # leaving
            return {"ThrottleTimeMs": 0, "ErrorCode": 0, "ErrorMessage": None, "MemberId": member,
                    "MemberEpoch": -1, "HeartbeatIntervalMs": 1000, "Assignment": None}
        with st.lock:
            st.groups.setdefault(b["GroupId"], {"generation": 1, "protocol_type": "consumer"})
        return {"ThrottleTimeMs": 0, "ErrorCode": 0, "ErrorMessage": None, "MemberId": member,
                "MemberEpoch": max(epoch, 0) + 1, "HeartbeatIntervalMs": 1000,
                "Assignment": {"TopicPartitions": parts} if parts or b.get("SubscribedTopicNames") is not None
                else None}

    def h_GetTelemetrySubscriptions(self, v, b):
        return {"ThrottleTimeMs": 0, "ErrorCode": 0, "ClientInstanceId": uuid.uuid4().bytes,
                "SubscriptionId": 1, "AcceptedCompressionTypes": [], "PushIntervalMs": 300000,
                "TelemetryMaxBytes": 1 << 20, "DeltaTemporality": True, "RequestedMetrics": []}

    def h_DescribeCluster(self, v, b):
        return {"ThrottleTimeMs": 0, "ErrorCode": 0, "ClusterId": "chronik-golden-capture", "ControllerId": 1,
                "Brokers": [{"BrokerId": 1, "Host": "127.0.0.1", "Port": self.port, "Rack": None}]}


# --------------------------------------------------------------------------
# Client scenarios
# --------------------------------------------------------------------------

CLIENTS = ["kcat", "kafka-python", "confluent-kafka", "kafkajs", "platformatic-kafka", "node-rdkafka"]
DRIVERS = os.path.join(HERE, "drivers")


def client_version(client, kafkajs_dir, platformatic_dir=None, nrd_dir=None):
    try:
        if client == "kcat":
            out = subprocess.run(["kcat", "-V"], capture_output=True, text=True, timeout=10).stdout
            line = [x for x in out.splitlines() if x.startswith("Version")][0]
            ver = line.split()[1]
            lib = line.split("librdkafka ")[1].split()[0]
            return "kcat %s (librdkafka %s)" % (ver, lib)
        if client == "kafka-python":
            out = subprocess.run([SYS_PY, "-c", "import kafka; print(kafka.__version__)"],
                                 capture_output=True, text=True, timeout=20).stdout.strip()
            return "kafka-python %s" % out
        if client == "confluent-kafka":
            out = subprocess.run([SYS_PY, "-c", "import confluent_kafka as c; print(c.version()[0], c.libversion()[0])"],
                                 capture_output=True, text=True, timeout=20).stdout.split()
            return "confluent-kafka %s (librdkafka %s)" % (out[0], out[1])
        if client == "kafkajs":
            with open(os.path.join(kafkajs_dir, "node_modules", "kafkajs", "package.json")) as f:
                return "kafkajs %s (node %s)" % (json.load(f)["version"],
                                                 subprocess.run(["node", "--version"], capture_output=True,
                                                                text=True, timeout=10).stdout.strip())
        if client == "platformatic-kafka":
            with open(os.path.join(platformatic_dir, "node_modules", "@platformatic", "kafka", "package.json")) as f:
                return "@platformatic/kafka %s (node %s)" % (json.load(f)["version"],
                                                          subprocess.run(["node", "--version"], capture_output=True,
                                                                         text=True, timeout=10).stdout.strip())
        if client == "node-rdkafka":
            out = subprocess.run(["node", "-e", "const k=require('node-rdkafka');"
                                  "console.log(require('node-rdkafka/package.json').version, k.librdkafkaVersion)"],
                                 capture_output=True, text=True, timeout=20,
                                 env=dict(os.environ, NODE_PATH=os.path.join(nrd_dir, "node_modules"))).stdout.split()
            return "node-rdkafka %s (bundled librdkafka %s)" % (out[0], out[1])
    except Exception as e:   # noqa: BLE001
        return "%s (version unknown: %s)" % (client, e)
    return client


def scenarios(client, bs, kafkajs_dir, platformatic_dir=None, nrd_dir=None):
    """Yield (name, argv, stdin bytes or None, timeout s, options)."""
    if client == "kcat":
        base = ["kcat", "-b", bs, "-X", "client.id=chronik-golden-kcat"]
        msgs = b"key-1:value one\nkey-2:value two\nkey-3:value three\nkey-4:\n"
        yield "metadata", base + ["-L", "-t", "golden-kcat"], None, 15, {}
        yield "metadata-all", base + ["-L"], None, 15, {}
        yield "apiversions-fallback", base + ["-L", "-t", "golden-kcat"], None, 15, {"apiversions_max": 2}
        for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
            yield ("produce-" + codec, base + ["-P", "-t", "golden-kcat", "-K:", "-H", "hdr-a=alpha",
                                               "-H", "hdr-b=beta", "-X", "compression.codec=" + codec,
                                               "-X", "linger.ms=50"], msgs, 20, {})
        yield ("produce-fixed-key", base + ["-P", "-t", "golden-kcat", "-k", "fixed-key", "-p", "0",
                                            "-H", "trace=1"], b"m1\nm2\n", 20, {})
        yield ("produce-idempotent", base + ["-P", "-t", "golden-kcat", "-K:", "-H", "hdr-a=alpha",
                                             "-X", "enable.idempotence=true", "-X", "compression.codec=lz4"],
               msgs, 20, {})
        yield "consume", base + ["-C", "-t", "golden-kcat", "-o", "beginning", "-c", "6", "-e"], None, 20, {}
        yield ("group", base + ["-G", "kcat-group", "-X", "auto.offset.reset=earliest", "golden-kcat"],
               None, 10, {"sigint": True})
    elif client == "kafka-python":
        drv = os.path.join(DRIVERS, "kafka_python_driver.py")
        for mode in ("producer", "consumer", "admin"):
            yield mode, [SYS_PY, drv, mode, bs], None, 40, {}
    elif client == "confluent-kafka":
        drv = os.path.join(DRIVERS, "confluent_driver.py")
        for mode in ("producer", "consumer", "admin"):
            yield mode, [SYS_PY, drv, mode, bs], None, 40, {}
    elif client == "kafkajs":
        drv = os.path.join(DRIVERS, "kafkajs_driver.js")
        env = {"NODE_PATH": os.path.join(kafkajs_dir, "node_modules")}
        for mode in ("admin", "producer", "consumer"):
            yield mode, ["node", drv, mode, bs], None, 40, {"env": env}
    elif client == "platformatic-kafka":
        drv = os.path.join(DRIVERS, "platformatic_driver.mjs")
        env = {"PLATFORMATIC_KAFKA_DIR": platformatic_dir}
        for mode in ("admin", "producer", "consumer", "consumer-848"):
            yield mode, ["node", drv, mode, bs], None, 40, {"env": env}
    elif client == "node-rdkafka":
        drv = os.path.join(DRIVERS, "node_rdkafka_driver.js")
        env = {"NODE_PATH": os.path.join(nrd_dir, "node_modules")}
        for mode in ("admin", "producer", "consumer"):
            yield mode, ["node", drv, mode, bs], None, 40, {"env": env}


def run_one(argv, stdin, timeout, opts, logf):
    env = dict(os.environ)
    env.update(opts.get("env", {}))
    p = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                         stdout=logf, stderr=logf, env=env)
    if stdin is not None:
        try:
            p.stdin.write(stdin)
            p.stdin.close()
        except OSError:
            pass
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if opts.get("sigint"):
            p.send_signal(signal.SIGINT)      # let it leave the group / commit
            try:
                return p.wait(timeout=8)
            except subprocess.TimeoutExpired:
                pass
        p.kill()
        p.wait()
        return "timeout"


CAP_PER_SCENARIO = 3          # frames kept per (scenario, api key, version)
CAP_PRODUCE = 8               # one per codec / producer in a scenario
MAX_FRAME = 256 * 1024


def select_frames(frames):
    """Drop exact duplicates (ignoring correlation id) and cap repeats."""
    kept, seen, counts = [], set(), {}
    for scen, fr in frames:
        norm = fr[:4] + b"\0\0\0\0" + fr[8:]
        if norm in seen:
            continue
        key, ver = struct.unpack(">hh", fr[:4])
        ck = (scen, key, ver)
        if counts.get(ck, 0) >= (CAP_PRODUCE if key == 0 else CAP_PER_SCENARIO):
            continue
        if len(fr) > MAX_FRAME and counts.get(ck, 0) > 0:
            continue
        seen.add(norm)
        counts[ck] = counts.get(ck, 0) + 1
        kept.append((scen, fr))
    return kept


MANIFEST_COLS = ["file", "client", "client_version", "api_key", "api_version", "size", "sha256", "scenario",
                 "note"]


def quirk_note(S, fr):
    """Describe a frame that does not parse to its exact end (kept on purpose: real client bytes)."""
    try:
        key, ver, header, body, used = decode_request(S, fr)
    except DecodeError as e:
        return "does not decode: %s" % e
    if used == len(fr):
        return ""
    n = len(fr) - used
    note = "trailing=%d" % n
    if key == 3 and ver >= 9 and body.get("Topics") is None and n == 3:
        note += " (librdkafka issue 5049: null Topics written as a 4-byte placeholder, not a 1-byte varint;" \
                " Kafka ignores the extra bytes, so the fields after Topics are read shifted)"
    return note


def read_manifest(path):
    rows = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        for ln in lines[1:]:
            if ln.strip():
                row = dict(zip(MANIFEST_COLS, ln.split("\t")))
                row.setdefault("note", "")
                rows.append(row)
    return rows


def cmd_capture(args):
    S = Schemas(args.schemas)
    out = args.out
    clients = args.clients.split(",")
    manifest = os.path.join(out, "MANIFEST.tsv")
    rows = [r for r in read_manifest(manifest) if r["client"] not in clients]
    logdir = args.log_dir
    os.makedirs(logdir, exist_ok=True)
    for client in clients:
        broker = Broker(S, default_partitions=3)
        broker.start()
        bs = "127.0.0.1:%d" % broker.port
        cver = client_version(client, args.kafkajs_dir, args.platformatic_dir, args.node_rdkafka_dir)
        print("== %s (%s) on %s" % (client, cver, bs))
        with open(os.path.join(logdir, client + ".log"), "wb") as logf:
            for name, argv, stdin, tmo, opts in scenarios(client, bs, args.kafkajs_dir, args.platformatic_dir, args.node_rdkafka_dir):
                broker.tag = name
                broker.apiversions_max = opts.get("apiversions_max")
                logf.write(("\n### %s: %s\n" % (name, " ".join(argv))).encode())
                logf.flush()
                t0 = time.time()
                rc = run_one(argv, stdin, tmo, opts, logf)
                time.sleep(0.3)
                broker.close_conns()
                time.sleep(0.2)
                n = sum(1 for t, _ in broker.frames if t == name)
                print("   %-22s rc=%-8s %5.1fs %4d frames" % (name, rc, time.time() - t0, n))
        broker.stop()
        for ln in broker.log:
            print("   broker: " + ln)
        d = os.path.join(out, client)
        os.makedirs(d, exist_ok=True)
        for fn in os.listdir(d):
            if fn.endswith(".bin"):
                os.unlink(os.path.join(d, fn))
        kept = select_frames(broker.frames)
        for i, (scen, fr) in enumerate(kept, 1):
            key, ver = struct.unpack(">hh", fr[:4])
            fn = "%03d-%s-v%d.bin" % (i, S.api_name(key), ver)
            with open(os.path.join(d, fn), "wb") as f:
                f.write(fr)
            rows.append({"file": "%s/%s" % (client, fn), "client": client, "client_version": cver,
                         "api_key": str(key), "api_version": str(ver), "size": str(len(fr)),
                         "sha256": hashlib.sha256(fr).hexdigest(), "scenario": scen,
                         "note": quirk_note(S, fr)})
        print("   kept %d of %d frames" % (len(kept), len(broker.frames)))
    order = {c: i for i, c in enumerate(CLIENTS)}
    rows.sort(key=lambda r: (order.get(r["client"], 99), r["file"]))
    with open(manifest, "w", encoding="utf-8") as f:
        f.write("\t".join(MANIFEST_COLS) + "\n")
        for r in rows:
            f.write("\t".join(r[c] for c in MANIFEST_COLS) + "\n")
    return cmd_check(args)


def cmd_check(args):
    S = Schemas(args.schemas)
    rows = read_manifest(os.path.join(args.out, "MANIFEST.tsv"))
    bad = quirks = 0
    summary = {}
    for r in rows:
        path = os.path.join(args.out, r["file"])
        problems = []
        try:
            with open(path, "rb") as f:
                fr = f.read()
            if hashlib.sha256(fr).hexdigest() != r["sha256"] or len(fr) != int(r["size"]):
                problems.append("size/sha256 differs from manifest")
            key, ver, header, body, used = decode_request(S, fr)
            if (key, ver) != (int(r["api_key"]), int(r["api_version"])):
                problems.append("header api key/version differs from manifest")
            if not os.path.basename(path)[4:].startswith("%s-v%d." % (S.api_name(key), ver)):
                problems.append("file name does not match header")
            trailing = len(fr) - used
            declared = 0
            if r["note"].startswith("trailing="):
                declared = int(r["note"].split()[0].split("=")[1])
            if trailing != declared:
                problems.append("%d trailing bytes (manifest declares %d)" % (trailing, declared))
            if encode_request(S, header, body) != fr[:used]:
                problems.append("re-encode differs")
            if declared:
                quirks += 1
            extra = ""
            if key == 0:
                descs = []
                for t in body["TopicData"]:
                    for p in t["PartitionData"]:
                        for _, _, _, b in split_batches(p["Records"] or b""):
                            descs.append(check_batch(b))
                extra = " batches=" + ",".join(descs)
        except (DecodeError, OSError, struct.error, UnicodeDecodeError) as e:
            problems.append(str(e))
            extra = ""
        if problems:
            bad += 1
            print("FAIL %s: %s" % (r["file"], "; ".join(problems)))
        elif args.verbose:
            print("ok   %s%s" % (r["file"], extra))
        summary.setdefault(r["client"], set()).add((int(r["api_key"]), int(r["api_version"])))
    for c, s in summary.items():
        apis = {}
        for k, v in sorted(s):
            apis.setdefault(S.api_name(k), []).append(v)
        print("%s: %s" % (c, ", ".join("%s v%s" % (n, "/".join(map(str, vs))) for n, vs in apis.items())))
    print("%d files, %d failed, %d with declared trailing bytes (see the note column)" % (len(rows), bad, quirks))
    return 1 if bad else 0


def cmd_selftest(args):
    """Exercise the UNSUPPORTED_VERSION path with a hand-made ApiVersions v99 request."""
    S = Schemas(args.schemas)
    broker = Broker(S)
    broker.start()
    c = socket.create_connection(("127.0.0.1", broker.port), timeout=5)
    req = struct.pack(">hhi", 18, 99, 7) + struct.pack(">h", 4) + b"test" + b"\0"
    c.sendall(struct.pack(">i", len(req)) + req)
    size = struct.unpack(">i", c.recv(4))[0]
    data = b""
    while len(data) < size:
        data += c.recv(size - len(data))
    corr, err, n = struct.unpack_from(">ihi", data)
    assert corr == 7 and err == 35 and n > 10 and len(data) == 10 + 6 * n, (corr, err, n)
    c.close()
    broker.stop()
    print("selftest ok: ApiVersions v99 -> error 35 with %d ranges in a v0 body" % n)
    return 0


def cmd_serve(args):
    S = Schemas(args.schemas)
    broker = Broker(S, port=args.port)
    broker.start()
    print("listening on 127.0.0.1:%d (Ctrl-C to stop)" % broker.port, flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    broker.stop()
    os.makedirs(args.raw_dir, exist_ok=True)
    for i, (_, fr) in enumerate(broker.frames, 1):
        key, ver = struct.unpack(">hh", fr[:4])
        with open(os.path.join(args.raw_dir, "%04d-%s-v%d.bin" % (i, S.api_name(key), ver)), "wb") as f:
            f.write(fr)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["capture", "check", "selftest", "serve"])
    ap.add_argument("--schemas", default=DEFAULT_SCHEMAS)
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--kafkajs-dir", default="/tmp/kjs")
    ap.add_argument("--platformatic-dir", default="/tmp/pkjs")
    ap.add_argument("--node-rdkafka-dir", default="/tmp/nrd")
    ap.add_argument("--log-dir", default="/tmp/chronik-golden-logs")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--raw-dir", default="/tmp/chronik-golden-raw")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    return {"capture": cmd_capture, "check": cmd_check, "selftest": cmd_selftest, "serve": cmd_serve}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
