#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Durability: produce numbered messages (no retries, so an acknowledged
message is written exactly once), kill -9 the server mid stream, restart
on the same data dir; after CYCLES cycles every acknowledged message must
be present exactly once and in order, and the topics must still be there
with their partition counts and ids. Cycles alternate acks=all (answered
after the WAL sync) and acks=1 (answered once written to the WAL: a
killed process keeps it, the kernel has it)."""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, check, finish, skip  # noqa: E402

try:
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:
    skip('confluent-kafka missing: %s' % e)

CYCLES = int(os.environ.get('CHRONIK_DURABILITY_CYCLES', '12'))
TOPIC = 'durable'

s = Server(sys.argv[1])
s.start()
admin = AdminClient({'bootstrap.servers': s.bootstrap})
for f in admin.create_topics([NewTopic(TOPIC, 1, 1),
                              NewTopic('meta-check', 5, 1)]).values():
    f.result(10)
md = admin.list_topics(timeout=10)
ids_before = {t: str(getattr(md.topics[t], 'topic_id', '')) for t in
              (TOPIC, 'meta-check')}

acked = []
failed = 0
seq = 0
rng = random.Random(5)
t_start = time.time()
for cycle in range(CYCLES):
    if cycle:
        s.start()
    acks = 'all' if cycle % 2 == 0 else '1'
    prod = Producer({'bootstrap.servers': s.bootstrap, 'acks': acks,
                     'retries': 0, 'linger.ms': 1,
                     'message.timeout.ms': 3000,
                     'enable.idempotence': False,
                     'max.in.flight.requests.per.connection': 5})
    this_acked = []

    def dr(err, msg):
        global failed
        if err is None:
            this_acked.append((int(msg.value()), msg.offset()))
        else:
            failed += 1
    # Warm up (the client learns the partition leader), then stream and
    # kill at a random moment with produce requests in flight.
    prod.produce(TOPIC, value=str(seq).encode(), partition=0,
                 on_delivery=dr)
    seq += 1
    prod.flush(10)
    kill_at = time.time() + rng.uniform(0.1, 0.6)
    while time.time() < kill_at:
        for _ in range(200):
            prod.produce(TOPIC, value=str(seq).encode(), partition=0,
                         on_delivery=dr)
            seq += 1
        prod.poll(0.001)
    # A last burst so that requests are on the wire when the kill lands.
    for _ in range(5000):
        prod.produce(TOPIC, value=str(seq).encode(), partition=0,
                     on_delivery=dr)
        seq += 1
    prod.poll(0)
    time.sleep(rng.uniform(0.0, 0.004))
    inflight = len(prod)
    s.kill9()
    prod.flush(10)
    this_acked.sort(key=lambda x: x[0])
    acked += this_acked
    print('# cycle %d (acks=%s): %d acked so far, %d failed, sent %d, %d '
          'unacked at the kill' % (cycle, acks, len(acked), failed, seq,
                                   inflight), flush=True)

s.start()
check('restarted after %d kill -9 cycles' % CYCLES, s.alive())
cons = Consumer({'bootstrap.servers': s.bootstrap, 'group.id': 'dur',
                 'enable.auto.commit': False})
cons.assign([TopicPartition(TOPIC, 0, 0)])
stored = []
lo, hi = cons.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=10)
t0 = time.time()
while len(stored) < hi and time.time() - t0 < 60:
    for m in cons.consume(10000, 1.0):
        if not m.error():
            stored.append((int(m.value()), m.offset()))
cons.close()
values = [v for v, _ in stored]
pos = {}
dups = 0
for i, v in enumerate(values):
    if v in pos:
        dups += 1
    pos[v] = i
missing = [v for v, _ in acked if v not in pos]
check('every acknowledged message is present (%d acked, %d stored)'
      % (len(acked), len(stored)), not missing and len(acked) > 0,
      missing[:10])
check('no message stored twice', dups == 0, dups)
check('acknowledged offsets are where they were acknowledged',
      all(stored[pos[v]][1] == off for v, off in acked if v in pos))
order = [pos[v] for v, _ in acked if v in pos]
check('acknowledged messages in produce order',
      order == sorted(order))
check('offsets dense from 0', [o for _, o in stored] ==
      list(range(len(stored))))
admin = AdminClient({'bootstrap.servers': s.bootstrap})
md = admin.list_topics(timeout=10)
check('topic metadata survived',
      TOPIC in md.topics and 'meta-check' in md.topics and
      len(md.topics['meta-check'].partitions) == 5)
ids_after = {t: str(getattr(md.topics[t], 'topic_id', '')) for t in
             (TOPIC, 'meta-check')}
check('topic ids survived', ids_after == ids_before,
      (ids_before, ids_after))
print('# %d cycles in %.1f s' % (CYCLES, time.time() - t_start))
check('graceful stop', s.stop() == 0, s.log_tail())
finish()
