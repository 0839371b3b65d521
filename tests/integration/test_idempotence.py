#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Idempotent producer end to end: librdkafka (confluent-kafka) with
enable.idempotence=true produces numbered messages while the server is
restarted under it (SIGTERM, then kill -9 twice) on the same port, so
connections drop with produce requests in flight and the client retries
them. Every message must be stored exactly once, in produce order per
partition (no duplicates, no gaps). Then kill -9 and restart: the same
log, and the same producer (same id, epoch and sequences, the state
rebuilt from snapshot + log) keeps producing without an error."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, check, finish, skip  # noqa: E402

try:
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:
    skip('confluent-kafka missing: %s' % e)

TOTAL = int(os.environ.get('CHRONIK_IDEMPOTENCE_MESSAGES', '100000'))
EXTRA = 10000
TOPIC = 'idem'
PARTS = 3


def free_port():
    so = socket.socket()
    so.bind(('127.0.0.1', 0))
    port = so.getsockname()[1]
    so.close()
    return port


s = Server(sys.argv[1], kafka_port=free_port(),
           env={'CHRONIK_LOG_LEVEL': os.environ.get('IT_LOG', 'info')})
s.start()
admin = AdminClient({'bootstrap.servers': s.bootstrap})
for f in admin.create_topics([NewTopic(TOPIC, PARTS, 1)]).values():
    f.result(10)

errors = []
delivered = []
client_errors = []


def dr(err, msg):
    if err is None:
        delivered.append(int(msg.value()))
    else:
        errors.append(str(err))


def on_error(err):
    client_errors.append(str(err))


prod = Producer({'bootstrap.servers': s.bootstrap,
                 'enable.idempotence': True,
                 'linger.ms': 2,
                 'batch.num.messages': 500,
                 'message.timeout.ms': 120000,
                 'reconnect.backoff.ms': 20,
                 'reconnect.backoff.max.ms': 200,
                 'error_cb': on_error})


def produce_range(lo, hi):
    for i in range(lo, hi):
        while True:
            try:
                prod.produce(TOPIC, value=str(i).encode(),
                             partition=i % PARTS, on_delivery=dr)
                break
            except BufferError:
                prod.poll(0.01)
        if i % 1000 == 0:
            prod.poll(0)


# Restarts when this many messages are delivered, with the client's
# queue kept ~5000 messages ahead so produce requests are in flight.
events = [(TOTAL // 5, 'sigterm'), (2 * TOTAL // 5, 'kill9'),
          (3 * TOTAL // 5, 'sigterm'), (4 * TOTAL // 5, 'kill9')]
t0 = time.time()
sent = 0
while sent < TOTAL or events:
    if sent < TOTAL and sent - len(delivered) < 5000:
        produce_range(sent, min(TOTAL, sent + 1000))
        sent = min(TOTAL, sent + 1000)
    prod.poll(0.002)
    if events and len(delivered) >= events[0][0]:
        at, how = events.pop(0)
        inflight = len(prod)
        if how == 'sigterm':
            rc = s.stop()
            check('graceful stop under load (exit 0)', rc == 0, rc)
        else:
            s.kill9()
        time.sleep(0.1)
        s.start()
        print('# %s after %d delivered, %d in the client queue' %
              (how, at, inflight), flush=True)
    if time.time() - t0 > 200:
        break
left = prod.flush(120)
print('# produced %d in %.1f s' % (TOTAL, time.time() - t0), flush=True)
check('every message delivered (%d), no delivery errors' % len(delivered),
      left == 0 and not errors and len(delivered) == TOTAL,
      (left, errors[:5], len(delivered)))
check('no fatal producer error', not any('atal' in e for e in
                                          client_errors), client_errors)


def consume_all(expect):
    cons = Consumer({'bootstrap.servers': s.bootstrap, 'group.id': 'idem',
                     'enable.auto.commit': False})
    cons.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTS)])
    his = sum(cons.get_watermark_offsets(TopicPartition(TOPIC, p),
                                         timeout=10)[1]
              for p in range(PARTS))
    got = {p: [] for p in range(PARTS)}
    n = 0
    t = time.time()
    while n < his and time.time() - t < 60:
        for m in cons.consume(10000, 1.0):
            if not m.error():
                got[m.partition()].append(int(m.value()))
                n += 1
    cons.close()
    values = [v for p in got for v in got[p]]
    dups = len(values) - len(set(values))
    missing = sorted(set(range(expect)) - set(values))
    ordered = all(got[p] == sorted(got[p]) for p in got)
    placed = all(v % PARTS == p for p in got for v in got[p])
    return his, len(values), dups, missing, ordered and placed


his, n, dups, missing, ordered = consume_all(TOTAL)
check('stored exactly %d messages (high watermarks %d)' % (TOTAL, his),
      n == TOTAL and his == TOTAL, n)
check('no duplicates', dups == 0, dups)
check('no gaps', not missing, missing[:10])
check('produce order kept per partition', ordered)

# kill -9 and restart: the log is the same, and the producer (same id,
# epoch, sequences) continues against the rebuilt state.
s.kill9()
s.start()
his, n, dups, missing, ordered = consume_all(TOTAL)
check('after kill -9: still %d messages, no duplicates, no gaps' % TOTAL,
      n == TOTAL and dups == 0 and not missing and ordered,
      (n, dups, missing[:10]))
produce_range(TOTAL, TOTAL + EXTRA)
left = prod.flush(60)
check('the same producer continues after the restart',
      left == 0 and not errors and len(delivered) == TOTAL + EXTRA,
      (left, errors[:5], len(delivered)))
his, n, dups, missing, ordered = consume_all(TOTAL + EXTRA)
check('%d messages, no duplicates, no gaps, in order' % (TOTAL + EXTRA),
      n == TOTAL + EXTRA and dups == 0 and not missing and ordered,
      (n, dups, missing[:10]))
check('no fatal producer error at the end', not any(
    'atal' in e for e in client_errors), client_errors)
print('# client errors seen (transient): %d' % len(client_errors))
check('graceful stop', s.stop() == 0, s.log_tail())
finish()
