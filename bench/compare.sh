#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Side-by-side comparison in one sitting on this machine (see
# docs/bench.md): builds release binaries, starts chronik-server on a
# fresh temp data dir (default settings: WAL profile medium, acks=all
# answered after the WAL's fdatasync, acks=1 once written to the WAL as
# Kafka's leader does; see docs/server.md), then runs
#   - chronik-bench produce, acks=all and acks=1, 128 in flight, 256 B;
#   - rdkafka_bench (librdkafka producer, 128 outstanding, linger.ms=0)
#     against chronik-server and against librdkafka's in-process mock
#     cluster (no disk: the ceiling), acks=all and acks=1;
#   - chronik-bench against the mock too (same client both sides);
#   - Redis 7 (appendonly yes, appendfsync always) with
#     redis-benchmark -c 128 -P 1 -d 256 running XADD;
#   - a 128-connection produce load (peak RSS), idle RSS;
#   - with --tmpfs DIR (e.g. /dev/shm): the librdkafka producer again
#     against a second chronik-server whose data dir is on DIR, where
#     fdatasync costs nothing: the software path without the disk;
#   - consume from the beginning: a topic of --consume-bytes produced
#     first, read with chronik-bench consume from chronik and from the
#     mock (the mock keeps at most 5 MiB per partition, so the bytes are
#     spread over partitions of 4 MiB), plus librdkafka's consumer
#     against chronik;
# and prints every figure and the ratios. Everything on 127.0.0.1,
# bounded in time, processes stopped by PID, temp dirs removed.
#
# usage: bench/compare.sh [--seconds S] [--consume-bytes BYTES]
#                         [--build-dir DIR] [--no-build] [--json FILE]
#                         [--redis-requests N] [--tmpfs DIR]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECS=5
CONSUME_BYTES=$((64 << 20))
BUILD=$ROOT/build-release
DO_BUILD=1
JSON_OUT=
REDIS_N=200000
TMPFS=

while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECS=$2; shift 2 ;;
    --consume-bytes) CONSUME_BYTES=$2; shift 2 ;;
    --build-dir) BUILD=$2; shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    --json) JSON_OUT=$2; shift 2 ;;
    --redis-requests) REDIS_N=$2; shift 2 ;;
    --tmpfs) TMPFS=$2; shift 2 ;;
    -h|--help) sed -n '3,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

TMP=$(mktemp -d /tmp/chronik-compare-XXXXXX)
RESULTS=$TMP/results.jsonl
PIDS=()

cleanup() {
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null || true
  done
  rm -rf "$TMP"
  [ -n "${TMPFS_DIR:-}" ] && rm -rf "$TMPFS_DIR"
  return 0
}
trap cleanup EXIT

log() { printf '== %s\n' "$*" >&2; }

if [ "$DO_BUILD" = 1 ]; then
  log "building release binaries in $BUILD"
  if [ ! -d "$BUILD" ]; then
    meson setup "$BUILD" "$ROOT" --buildtype=release \
      --wrap-mode=nodownload -Dtests=disabled >/dev/null
  fi
  ninja -C "$BUILD" -j2 chronik-server/chronik-server \
    chronik-bench/chronik-bench chronik-bench/rdkafka_bench >/dev/null
fi
SERVER=$BUILD/chronik-server/chronik-server
CB=$BUILD/chronik-bench/chronik-bench
RK=$BUILD/chronik-bench/rdkafka_bench

# Append one result: NAME then a JSON object on stdin.
record() {
  python3 -c '
import json, sys
name = sys.argv[1]
text = sys.stdin.read().strip().splitlines()
obj = json.loads(text[-1]) if text else {}
obj["name"] = name
print(json.dumps(obj))' "$1" >> "$RESULTS"
}

rss_kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

SERVER_PID=
BOOT=
HTTP_PORT=
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
start_server() { # [data parent dir]
  local dir=$TMP/server data=${1:-$TMP/server}/data
  rm -rf "$dir" "$data"
  mkdir -p "$dir"
  HTTP_PORT=$(free_port)
  cat > "$dir/chronik.toml" <<EOF
data_dir = "$data"
http_port = $HTTP_PORT
[bind]
kafka = "127.0.0.1:0"
EOF
  env -u CHRONIK_WAL_PROFILE "$SERVER" start --config "$dir/chronik.toml" \
    > "$dir/log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 100); do
    BOOT=$(grep -o 'kafka listening on 127.0.0.1:[0-9]*' "$dir/log" \
           | head -1 | awk '{print $4}') || true
    [ -n "$BOOT" ] && return 0
    sleep 0.1
  done
  echo "compare.sh: server did not start:" >&2
  cat "$dir/log" >&2
  exit 1
}

stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

MOCK_PID=
MOCK=
start_mock() { # topic partitions
  "$RK" serve-mock -t "$1" -p "$2" -d 600 > "$TMP/mock.addr" &
  MOCK_PID=$!
  PIDS+=("$MOCK_PID")
  for _ in $(seq 50); do
    MOCK=$(head -1 "$TMP/mock.addr" 2>/dev/null || true)
    [ -n "$MOCK" ] && return 0
    sleep 0.1
  done
  echo "compare.sh: mock did not start" >&2
  exit 1
}

cbrun() { timeout $((SECS * 3 + 60)) "$CB" "$@" --json --no-progress; }
rkrun() { timeout $((SECS * 3 + 120)) "$RK" "$@" --json; }

log "machine: $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}'), $(nproc) cores, $(uname -r)"
log "chronik-server on a fresh data dir"
start_server
sleep 1
IDLE_RSS=$(rss_kb "$SERVER_PID" VmRSS)
log "server $BOOT (pid $SERVER_PID), idle RSS ${IDLE_RSS} kB"

for t in cb-all cb-one rk-all rk-one; do
  cbrun metadata -b "$BOOT" -t "$t" --create-topic -n 1 >/dev/null
done

log "chronik-bench produce acks=all"
cbrun produce -b "$BOOT" -t cb-all -a all -c 128 -s 256 -d "$SECS" -w 1 \
  | record chronik-bench/chronik/acks=all
log "chronik-bench produce acks=1"
cbrun produce -b "$BOOT" -t cb-one -a 1 -c 128 -s 256 -d "$SECS" -w 1 \
  | record chronik-bench/chronik/acks=1
log "rdkafka producer -> chronik acks=all"
rkrun produce -b "$BOOT" -t rk-all -a all -s 256 --inflight 128 \
  -d "$SECS" | record rdkafka/chronik/acks=all
log "rdkafka producer -> chronik acks=1"
rkrun produce -b "$BOOT" -t rk-one -a 1 -s 256 --inflight 128 \
  -d "$SECS" | record rdkafka/chronik/acks=1

# The WAL's own sync timings over the four produce runs above.
WAL_SYNC=$(python3 - "$HTTP_PORT" <<'EOF'
import sys, urllib.request
m = {}
try:
    text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1],
                                  timeout=10).read().decode()
except Exception:
    text = ""
for line in text.splitlines():
    if line.startswith("chronik_wal_sync_seconds_") and " " in line:
        k, v = line.rsplit(" ", 1)
        m[k] = float(v)
n = m.get("chronik_wal_sync_seconds_count", 0)
s = m.get("chronik_wal_sync_seconds_sum", 0)
print("%d %.1f" % (n, s / n * 1e6 if n else 0))
EOF
)

log "128 connections, 128 in flight (peak RSS)"
cbrun produce -b "$BOOT" -t cb-all --connections 128 -c 128 -a all \
  -d "$SECS" | record chronik-bench/chronik/acks=all/128-connections
PEAK_RSS=$(rss_kb "$SERVER_PID" VmHWM)

log "consume from the beginning: chronik"
CPARTS=$(( (CONSUME_BYTES + (4 << 20) - 1) / (4 << 20) ))
CMSGS=$(( CONSUME_BYTES / 256 ))
cbrun produce -b "$BOOT" -t cons --create-topic -p "$CPARTS" \
  --batch-size 100 -a 1 -n "$CMSGS" >/dev/null
cbrun consume -b "$BOOT" -t cons | record chronik-bench/chronik/consume
rkrun consume -b "$BOOT" -t rk-cons -p 1 --preload-bytes "$CONSUME_BYTES" \
  | record rdkafka/chronik/consume
stop_pid "$SERVER_PID"

if [ -n "$TMPFS" ]; then
  TMPFS_DIR=$(mktemp -d "$TMPFS/chronik-compare-XXXXXX")
  log "chronik-server with its data dir on $TMPFS_DIR (no sync cost)"
  start_server "$TMPFS_DIR"
  for t in rk-all rk-one; do
    cbrun metadata -b "$BOOT" -t "$t" --create-topic -n 1 >/dev/null
  done
  rkrun produce -b "$BOOT" -t rk-all -a all -s 256 --inflight 128 \
    -d "$SECS" | record rdkafka/chronik-on-tmpfs/acks=all
  rkrun produce -b "$BOOT" -t rk-one -a 1 -s 256 --inflight 128 \
    -d "$SECS" | record rdkafka/chronik-on-tmpfs/acks=1
  stop_pid "$SERVER_PID"
  rm -rf "$TMPFS_DIR"
fi

log "librdkafka mock cluster (in process, no disk)"
rkrun produce --mock -t rk-all -a all -s 256 --inflight 128 -d "$SECS" \
  | record rdkafka/mock/acks=all
rkrun produce --mock -t rk-one -a 1 -s 256 --inflight 128 -d "$SECS" \
  | record rdkafka/mock/acks=1
start_mock cb 1
cbrun produce -b "$MOCK" -t cb -a all -c 128 -s 256 -d "$SECS" -w 1 \
  | record chronik-bench/mock/acks=all
cbrun produce -b "$MOCK" -t cb -a 1 -c 128 -s 256 -d "$SECS" -w 1 \
  | record chronik-bench/mock/acks=1
stop_pid "$MOCK_PID"
start_mock cons "$CPARTS"
cbrun produce -b "$MOCK" -t cons -p "$CPARTS" --batch-size 100 -a 1 \
  -n "$CMSGS" >/dev/null
cbrun consume -b "$MOCK" -t cons | record chronik-bench/mock/consume
stop_pid "$MOCK_PID"

log "Redis 7, appendonly yes, appendfsync always"
RPORT=$(free_port)
mkdir -p "$TMP/redis"
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$TMP/redis" \
  --appendonly yes --appendfsync always --save '' --daemonize no \
  --logfile "$TMP/redis/log" &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
for _ in $(seq 50); do
  redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done
VAL=$(head -c 256 /dev/zero | tr '\0' v)
timeout 300 redis-benchmark -h 127.0.0.1 -p "$RPORT" -c 128 -P 1 \
  -n "$REDIS_N" -d 256 --csv XADD s '*' f "$VAL" > "$TMP/redis.csv"
python3 - "$TMP/redis.csv" >> "$RESULTS" <<'EOF'
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1])))
head, row = rows[0], rows[-1]
d = dict(zip(head, row))
rps = float(d["rps"])
print(json.dumps({"name": "redis-benchmark/XADD/appendfsync=always",
                  "msgs_per_sec": rps, "mb_per_sec": rps * 256 / 1e6,
                  "errors": 0,
                  "latency_us": {"p50": float(d["p50_latency_ms"]) * 1e3,
                                 "p99": float(d["p99_latency_ms"]) * 1e3,
                                 "max": float(d["max_latency_ms"]) * 1e3}}))
EOF
stop_pid "$REDIS_PID"

python3 - "$RESULTS" "$IDLE_RSS" "$PEAK_RSS" $WAL_SYNC <<'EOF'
import json, sys
res = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    res[o["name"]] = o
idle, peak = int(sys.argv[2]), int(sys.argv[3])

print("%-44s %12s %9s %9s %9s %9s %6s" % (
    "run", "msg/s", "MB/s", "p50 ms", "p99 ms", "max ms", "errors"))
for name, o in res.items():
    lat = o.get("latency_us", {})
    f = lambda k: "%9.3f" % (lat[k] / 1e3) if k in lat else "%9s" % "-"
    print("%-44s %12.0f %9.2f %s %s %s %6s" % (
        name, o.get("msgs_per_sec", 0), o.get("mb_per_sec", 0),
        f("p50"), f("p99"), f("max"), o.get("errors", "-")))
print()
print("chronik-server RSS: idle %.1f MB, peak %.1f MB (after the "
      "128-connection load)" % (idle / 1024, peak / 1024))
if len(sys.argv) > 5:
    print("WAL syncs during the four produce runs: %s, mean %s us "
          "(chronik_wal_sync_seconds)" % (sys.argv[4], sys.argv[5]))

def rate(n):
    return res.get(n, {}).get("msgs_per_sec", 0.0)

def ratio(a, b, goal, label):
    ra, rb = rate(a), rate(b)
    r = ra / rb if rb else 0.0
    ok = "met" if r >= goal else "NOT met"
    print("%-62s %6.2fx (goal >= %.1fx: %s)" % (label, r, goal, ok))

print()
redis = "redis-benchmark/XADD/appendfsync=always"
ratio("chronik-bench/chronik/acks=all", redis, 4.0,
      "acks=all chronik-bench vs Redis XADD always")
ratio("rdkafka/chronik/acks=all", redis, 4.0,
      "acks=all rdkafka->chronik vs Redis XADD always")
ratio("rdkafka/chronik/acks=all", "rdkafka/mock/acks=all", 0.6,
      "acks=all rdkafka: chronik vs mock")
ratio("chronik-bench/chronik/acks=all", "chronik-bench/mock/acks=all", 0.6,
      "acks=all chronik-bench: chronik vs mock")
ratio("rdkafka/chronik/acks=1", "rdkafka/mock/acks=1", 0.7,
      "acks=1 rdkafka: chronik vs mock")
ratio("chronik-bench/chronik/acks=1", "chronik-bench/mock/acks=1", 0.7,
      "acks=1 chronik-bench: chronik vs mock")
ratio("chronik-bench/chronik/consume", "chronik-bench/mock/consume", 0.9,
      "consume from the beginning, chronik-bench: chronik vs mock")
if "rdkafka/chronik-on-tmpfs/acks=all" in res:
    print()
    print("without the disk (data dir on tmpfs; not a goal, where the "
          "time goes):")
    for a in ("all", "1"):
        t, m = rate("rdkafka/chronik-on-tmpfs/acks=" + a), \
            rate("rdkafka/mock/acks=" + a)
        print("%-62s %6.2fx" % ("acks=%s rdkafka: chronik on tmpfs vs mock"
                                % a, t / m if m else 0.0))
    print()
for n in ("chronik-bench/chronik/acks=all", "rdkafka/chronik/acks=all"):
    p99 = res.get(n, {}).get("latency_us", {}).get("p99", 0) / 1e3
    print("%-62s %6.3f ms (goal <= 1 ms: %s)" % (
        "p99 " + n, p99, "met" if p99 <= 1.0 else "NOT met"))
print("%-62s %6.1f MB (goal <= 32 MB: %s)" % (
    "idle RSS", idle / 1024, "met" if idle <= 32 * 1024 else "NOT met"))
EOF
if [ -n "$JSON_OUT" ]; then
  cp "$RESULTS" "$JSON_OUT"
fi
