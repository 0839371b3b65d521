#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Test docs/examples/kafka-proxy against a fake broker.

  proxy_test.py PROXY_BINARY

Run by proxy-test.sh through tests/install/example-test.sh (RUN_WRAPPER),
so PROXY_BINARY was built against the installed libchronik-protocol with
pkg-config. The fake broker is the schema-driven one of
tests/protocol/golden/capture.py (it stores produced batches and serves
them to Fetch); Kafka's JSON schemas come from $KAFKA_SCHEMAS or
../shared/kafka-protocol/messages beside the repository.

Checks: kcat -L shows the proxy as the broker; kcat -P / -C round trip
(acks=1 and acks=0) through the proxy; FindCoordinator v0-v6, Metadata in
several versions, DescribeCluster and Produce/Fetch NodeEndpoints
rewritten; requests sent byte by byte, pipelined, and
followed by a half-close; malformed frames from the client and from the
broker close the pair; back-pressure pauses the broker side; the log names
APIs and versions; SIGTERM exits 0. Exit 0 on success, 1 on failure.
"""

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "protocol", "golden"))
import capture  # noqa: E402  (the fake broker and a Python codec)

SCHEMAS = os.environ.get("KAFKA_SCHEMAS") or os.path.join(
    os.path.dirname(ROOT), "shared", "kafka-protocol", "messages")
HOST = "127.0.0.1"
S = None                      # capture.Schemas
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


class Proxy:
    """A kafka-proxy process; its stderr goes to a log file."""

    def __init__(self, binary, broker_port, tmp, name):
        self.log_path = os.path.join(tmp, name + ".log")
        self.logf = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "--listen", HOST + ":0",
             "--broker", "%s:%d" % (HOST, broker_port), "-v"],
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=self.logf)
        self.port = None
        deadline = time.time() + 15
        while time.time() < deadline and self.port is None:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                break
            else:
                time.sleep(0.05)
        if self.port is None:
            raise RuntimeError("proxy did not start:\n" + self.log())

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if re.search(pattern, self.log()):
                return True
            time.sleep(0.05)
        return False

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.logf.close()
        return rc


def kcat(args, stdin=None, timeout=30):
    r = subprocess.run(["kcat"] + args, input=stdin, capture_output=True,
                       timeout=timeout)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


# ---- a raw Kafka client speaking through the proxy ----

def request_frame(key, ver, corr, body):
    header = {"RequestApiKey": key, "RequestApiVersion": ver,
              "CorrelationId": corr, "ClientId": "proxy-test"}
    frame = capture.encode_request(S, header, body)
    return struct.pack(">i", len(frame)) + frame


def decode_response(key, ver, frame):
    hv = S.response_header_version(key, ver)
    r = capture.Reader(frame)
    hdr = capture.decode_struct(r, S.resp_header.fields, hv,
                                hv in S.resp_header.flexible)
    m = S.resp[key]
    body = capture.decode_struct(r, m.fields, ver, ver in m.flexible)
    if r.pos != len(frame):
        raise capture.DecodeError("%d trailing bytes" % (len(frame) - r.pos))
    return hdr["CorrelationId"], body


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes"
                           % (len(buf), n))
        buf += chunk
    return bytes(buf)


def recv_frame(sock):
    size = struct.unpack(">i", recv_exact(sock, 4))[0]
    return recv_exact(sock, size)


def connect(port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(20)
    s.connect((HOST, port))
    return s


def closed_by_peer(sock, timeout=10):
    """True when the peer closes the connection within timeout."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def find_coordinator_body(ver):
    if ver >= 4:
        return {"KeyType": 0, "CoordinatorKeys": ["g1", "g2"]}
    return {"Key": "g1", "KeyType": 0}


def metadata_body(ver, topics):
    return {"Topics": [{"Name": t} for t in topics],
            "AllowAutoTopicCreation": True}


# ---- the checks ----

def test_kcat_metadata(px, bport):
    rc, out, err = kcat(["-L", "-b", "%s:%d" % (HOST, px.port), "-m", "10"])
    out = out.decode()
    check(rc == 0, "kcat -L exits 0 (%s)" % err.strip()[-200:])
    check("broker 1 at %s:%d" % (HOST, px.port) in out,
          "kcat -L lists the proxy %s:%d as broker 1" % (HOST, px.port))
    check(":%d" % bport not in out, "kcat -L does not show the broker port")


def consume(px, topic, count, timeout=20):
    deadline = time.time() + timeout
    lines = []
    while time.time() < deadline:
        rc, out, err = kcat(["-C", "-b", "%s:%d" % (HOST, px.port), "-t",
                             topic, "-p", "0", "-o", "beginning", "-e",
                             "-q", "-m", "10"])
        lines = out.split(b"\n")[:-1] if out else []
        if rc == 0 and len(lines) >= count:
            break
        time.sleep(0.3)
    return lines


def test_kcat_produce_consume(px):
    big = b"B" * (300 << 10)
    msgs = [b"message %d through the proxy" % i for i in range(200)]
    msgs.insert(100, big)
    rc, _, err = kcat(["-P", "-b", "%s:%d" % (HOST, px.port), "-t", "pt",
                       "-p", "0"], stdin=b"\n".join(msgs) + b"\n")
    check(rc == 0, "kcat -P (acks=1) exits 0 (%s)" % err.strip()[-200:])
    got = consume(px, "pt", len(msgs))
    check(got == msgs, "kcat -C returns the %d produced messages "
          "(got %d)" % (len(msgs), len(got)))

    msgs0 = [b"acks zero %d" % i for i in range(50)]
    rc, _, err = kcat(["-P", "-b", "%s:%d" % (HOST, px.port), "-t", "pt0",
                       "-p", "0", "-X", "acks=0"],
                      stdin=b"\n".join(msgs0) + b"\n")
    check(rc == 0, "kcat -P (acks=0) exits 0 (%s)" % err.strip()[-200:])
    got = consume(px, "pt0", len(msgs0))
    check(got == msgs0, "acks=0 messages consumed back (got %d)" % len(got))
    check(px.wait_log(r"> Produce v\d+ .*acks=0 \(no response\)"),
          "log marks the acks=0 Produce as having no response")


def test_rewrites(px, bport):
    s = connect(px.port)
    corr = 100
    for ver in range(S.req[10].valid.lo, S.req[10].valid.hi + 1):
        corr += 1
        s.sendall(request_frame(10, ver, corr, find_coordinator_body(ver)))
        c, body = decode_response(10, ver, recv_frame(s))
        if ver >= 4:
            addrs = [(x["Host"], x["Port"]) for x in body["Coordinators"]]
            ok = len(addrs) == 2 and all(a == (HOST, px.port) for a in addrs)
        else:
            addrs = [(body["Host"], body["Port"])]
            ok = addrs == [(HOST, px.port)]
        check(c == corr and ok, "FindCoordinator v%d rewritten: %r"
              % (ver, addrs))
    for ver in (0, 1, 4, 8, 9, 11, 12):
        corr += 1
        s.sendall(request_frame(3, ver, corr, metadata_body(ver, ["mt"])))
        c, body = decode_response(3, ver, recv_frame(s))
        addrs = [(b["Host"], b["Port"]) for b in body["Brokers"]]
        check(c == corr and addrs == [(HOST, px.port)] and
              body["Topics"][0]["Name"] == "mt",
              "Metadata v%d rewritten: %r" % (ver, addrs))
    s.close()
    check(px.wait_log(r"broker node 1 127\.0\.0\.1:%d -> 127\.0\.0\.1:%d"
                      % (bport, px.port)), "log shows the broker rewrite")
    check(px.wait_log(r"coordinator node 1 127\.0\.0\.1:%d -> "
                      r"127\.0\.0\.1:%d" % (bport, px.port)),
          "log shows the coordinator rewrite")


def test_partial_pipelined_halfclose(px):
    # One byte at a time.
    s = connect(px.port)
    frame = request_frame(18, 3, 7, {"ClientSoftwareName": "proxy-test",
                                     "ClientSoftwareVersion": "1.0"})
    for i in range(len(frame)):
        s.sendall(frame[i:i + 1])
        time.sleep(0.002)
    c, body = decode_response(18, 3, recv_frame(s))
    check(c == 7 and body["ErrorCode"] == 0 and len(body["ApiKeys"]) > 10,
          "ApiVersions v3 sent byte by byte is answered")

    # Pipelined: ten requests in one write, answers in order.
    reqs, data = [], b""
    for i in range(10):
        key, ver = [(3, 12), (18, 3), (10, 4), (3, 1), (10, 2)][i % 5]
        body = (metadata_body(ver, ["pipe"]) if key == 3 else
                find_coordinator_body(ver) if key == 10 else
                {"ClientSoftwareName": "t", "ClientSoftwareVersion": "1"})
        reqs.append((key, ver, 1000 + i))
        data += request_frame(key, ver, 1000 + i, body)
    s.sendall(data)
    ok = True
    for key, ver, corr in reqs:
        c, _ = decode_response(key, ver, recv_frame(s))
        ok = ok and c == corr
    check(ok, "10 pipelined requests answered in order")

    # Half-close: the response still arrives, then EOF.
    s.sendall(request_frame(3, 9, 55, metadata_body(9, ["hc"])))
    s.shutdown(socket.SHUT_WR)
    c, body = decode_response(3, 9, recv_frame(s))
    check(c == 55 and body["Brokers"][0]["Port"] == px.port,
          "response after the client's half-close")
    s.settimeout(10)
    try:
        eof = s.recv(1) == b""
    except OSError:
        eof = False
    check(eof, "EOF follows once the broker side is shut down")
    s.close()
    check(px.wait_log(r"client closed its side"), "log shows the half-close")


def test_malformed_client(px):
    s = connect(px.port)
    # Metadata v12 whose topic array claims more than the frame holds.
    bad = struct.pack(">hhi", 3, 12, 9) + b"\x00\x02ab" + b"\x00" + \
        b"\x7f\x01"
    s.sendall(struct.pack(">i", len(bad)) + bad)
    check(closed_by_peer(s), "malformed request closes the connection")
    s.close()
    check(px.wait_log(r"malformed request from client: MetadataRequest"),
          "log names the malformed request")

    s = connect(px.port)
    s.sendall(b"\xff\xff\xff\xf0" + b"\x00" * 8)
    check(closed_by_peer(s), "negative frame size closes the connection")
    s.close()
    check(px.wait_log(r"bad size prefix"), "log shows the bad size prefix")


ENDPOINTS = [{"NodeId": 2, "Host": "broker-2.example", "Port": 9093,
              "Rack": None}]


class EvilBroker:
    """Answers the first request with a truncated or mismatched frame, or
    (mode "endpoints") answers Produce and Fetch with KIP-951
    NodeEndpoints naming another broker."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((HOST, 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        try:
            c, _ = self.sock.accept()
            c.settimeout(20)
            if self.mode == "endpoints":
                self.serve_endpoints(c)
                return
            frame = recv_frame(c)
            corr = struct.unpack_from(">i", frame, 4)[0]
            if self.mode == "truncated":
                # header v1 (flexible Metadata) then half a body
                resp = struct.pack(">i", corr) + b"\x00" + b"\x00\x00"
            else:
                resp = struct.pack(">i", corr + 1) + b"\x00" * 16
            c.sendall(struct.pack(">i", len(resp)) + resp)
            time.sleep(5)
            c.close()
        except OSError:
            pass

    def serve_endpoints(self, c):
        while True:
            try:
                frame = recv_frame(c)
            except EOFError:
                c.close()
                return
            key, ver, hdr, _, _ = capture.decode_request(S, frame)
            body = {"ThrottleTimeMs": 0, "Responses": [],
                    "NodeEndpoints": ENDPOINTS}
            if key == 1:
                body.update({"ErrorCode": 0, "SessionId": 0})
            resp = capture.encode_response(S, key, ver,
                                           hdr["CorrelationId"], body)
            c.sendall(struct.pack(">i", len(resp)) + resp)

    def close(self):
        self.sock.close()


def test_malformed_broker(binary, tmp):
    for mode, pattern in (("truncated", r"malformed response from broker: "
                                        r"MetadataResponse v12"),
                          ("corr", r"malformed response from broker: "
                                   r"corr=\d+, expected \d+")):
        evil = EvilBroker(mode)
        px = Proxy(binary, evil.port, tmp, "proxy-evil-" + mode)
        try:
            s = connect(px.port)
            s.sendall(request_frame(3, 12, 77, metadata_body(12, ["x"])))
            check(closed_by_peer(s), "bad response (%s) closes the client"
                  % mode)
            s.close()
            check(px.wait_log(pattern), "log: " + pattern)
        finally:
            sig = signal.SIGINT if mode == "corr" else signal.SIGTERM
            check(px.stop(sig) == 0, "proxy for the %s test exits 0 on %s"
                  % (mode, sig.name))
            evil.close()


def test_describe_cluster(px):
    s = connect(px.port)
    for ver in range(S.req[60].valid.lo, S.req[60].valid.hi + 1):
        s.sendall(request_frame(60, ver, 60 + ver, {
            "IncludeClusterAuthorizedOperations": False,
            "EndpointType": 1}))
        c, body = decode_response(60, ver, recv_frame(s))
        addrs = [(b["Host"], b["Port"]) for b in body["Brokers"]]
        check(c == 60 + ver and addrs == [(HOST, px.port)],
              "DescribeCluster v%d rewritten: %r" % (ver, addrs))
    s.close()


def test_node_endpoints(binary, tmp):
    evil = EvilBroker("endpoints")
    px = Proxy(binary, evil.port, tmp, "proxy-endpoints")
    try:
        s = connect(px.port)
        s.sendall(request_frame(0, 10, 1, {
            "TransactionalId": None, "Acks": -1, "TimeoutMs": 1000,
            "TopicData": []}))
        _, body = decode_response(0, 10, recv_frame(s))
        eps = [(e["Host"], e["Port"]) for e in body.get("NodeEndpoints")]
        check(eps == [(HOST, px.port)],
              "Produce v10 NodeEndpoints rewritten: %r" % eps)
        s.sendall(request_frame(1, 16, 2, {
            "MaxWaitMs": 0, "MinBytes": 1, "MaxBytes": 1000,
            "Topics": []}))
        _, body = decode_response(1, 16, recv_frame(s))
        eps = [(e["Host"], e["Port"]) for e in body.get("NodeEndpoints")]
        check(eps == [(HOST, px.port)],
              "Fetch v16 NodeEndpoints rewritten: %r" % eps)
        s.close()
        check(px.wait_log(r"leader node 2 broker-2\.example:9093 -> "),
              "log shows the leader endpoint rewrite")
    finally:
        check(px.stop() == 0, "proxy for the endpoints test exits 0")
        evil.close()


def test_backpressure(px, broker):
    # About 4 MB in partition 0 of "bp", written straight into the fake
    # broker's log through the proxy with kcat.
    msgs = [bytes([65 + i]) * (500 << 10) for i in range(8)]
    rc, _, err = kcat(["-P", "-b", "%s:%d" % (HOST, px.port), "-t", "bp",
                       "-p", "0", "-X", "message.max.bytes=2000000"],
                      stdin=b"\n".join(msgs) + b"\n")
    check(rc == 0, "kcat -P of 4 MB exits 0 (%s)" % err.strip()[-200:])
    s = connect(px.port, rcvbuf=4096)
    n = 8
    data = b""
    for i in range(n):
        data += request_frame(1, 4, 500 + i, {
            "ReplicaId": -1, "MaxWaitMs": 100, "MinBytes": 1,
            "MaxBytes": 64 << 20, "IsolationLevel": 0,
            "Topics": [{"Topic": "bp", "Partitions": [{
                "Partition": 0, "FetchOffset": 0,
                "PartitionMaxBytes": 64 << 20}]}]})
    s.sendall(data)
    paused = px.wait_log(r"client write queue \d+ bytes, pausing broker",
                         timeout=20)
    check(paused, "a slow client pauses reading from the broker")
    sizes = []
    ok = True
    for i in range(n):
        c, body = decode_response(1, 4, recv_frame(s))
        recs = body["Responses"][0]["Partitions"][0]["Records"] or b""
        sizes.append(len(recs))
        ok = ok and c == 500 + i
    s.close()
    check(ok and min(sizes) > 4000000,
          "all %d fetch responses arrive in order (%r bytes)" % (n, sizes))
    check(px.wait_log(r"client drained, reading broker again"),
          "reading resumes after the client drains")


def main():
    global S
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    binary = sys.argv[1]
    if not shutil.which("kcat"):
        print("SKIP: kcat not found")
        return 77
    if not os.path.isdir(SCHEMAS):
        print("FAIL: Kafka JSON schemas not found at %s (set KAFKA_SCHEMAS)"
              % SCHEMAS)
        return 1
    S = capture.Schemas(SCHEMAS)
    broker = capture.Broker(S, port=0, default_partitions=1)
    broker.start()
    tmp = os.environ.get("EXAMPLE_SCRATCH_DIR") or tempfile.mkdtemp()
    px = Proxy(binary, broker.port, tmp, "proxy")
    try:
        print("fake broker on %d, proxy on %d" % (broker.port, px.port))
        test_kcat_metadata(px, broker.port)
        test_kcat_produce_consume(px)
        test_rewrites(px, broker.port)
        test_partial_pipelined_halfclose(px)
        test_malformed_client(px)
        test_backpressure(px, broker)
        test_describe_cluster(px)
        test_malformed_broker(binary, tmp)
        test_node_endpoints(binary, tmp)
        log = px.log()
        for api in ("ApiVersions", "Metadata", "Produce", "Fetch",
                    "ListOffsets", "FindCoordinator"):
            check(re.search(r"\] > %s v\d+ corr=-?\d+ size=\d+" % api, log)
                  and re.search(r"\] < %s v\d+ corr=-?\d+ size=\d+" % api,
                                log), "log has %s requests and responses"
                  % api)
    except Exception as e:   # report, then show the log
        check(False, "unexpected %s: %s" % (type(e).__name__, e))
    finally:
        rc = px.stop(signal.SIGTERM)
        check(rc == 0, "SIGTERM: proxy exits 0 (rc %s)" % rc)
        check("SIGTERM: shutting down" in px.log(),
              "log shows the SIGTERM shutdown")
        broker.stop()
        for line in broker.log:
            print("fake broker: " + line)
    if FAILURES:
        print("---- proxy log (last 80 lines) ----")
        print("\n".join(px.log().splitlines()[-80:]))
        print("%d check(s) failed" % len(FAILURES))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
