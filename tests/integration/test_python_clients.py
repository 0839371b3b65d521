#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""kafka-python and confluent-kafka against the real server: 10,000 keyed
messages with headers and explicit timestamps over 6 partitions, every
field compared; null keys, tombstones, empty values, a 1 MiB value;
ListOffsets earliest/latest/by time; long polling; MESSAGE_TOO_LARGE."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, check, finish, skip  # noqa: E402

try:
    import kafka
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic
    import confluent_kafka
    from confluent_kafka import Consumer, Producer, KafkaError
    from confluent_kafka import TopicPartition as CTP
    from confluent_kafka.admin import AdminClient, NewTopic as CNewTopic
except ImportError as e:
    skip('python Kafka clients missing: %s' % e)

N = 10000
PARTS = 6
BASE_TS = 1700000000000
MIB = 1 << 20


def expected(prefix):
    out = []
    for i in range(N):
        out.append(dict(partition=i % PARTS,
                        key=('%s-key-%d' % (prefix, i)).encode(),
                        value=('%s-value-%d-' % (prefix, i)).encode() *
                        (1 + i % 7),
                        headers=[('seq', str(i).encode()),
                                 ('kind', prefix.encode())],
                        ts=BASE_TS + i))
    return out


def compare(name, want, got):
    """got: list of dicts with partition, offset, key, value, headers, ts.
    Per partition the order must be the produce order."""
    if len(got) != len(want):
        return check(name, False, 'got %d of %d' % (len(got), len(want)))
    by_part = {}
    for m in want:
        by_part.setdefault(m['partition'], []).append(m)
    got_part = {}
    for m in got:
        got_part.setdefault(m['partition'], []).append(m)
    for p, ws in by_part.items():
        gs = sorted(got_part.get(p, []), key=lambda m: m['offset'])
        for off, (w, g) in enumerate(zip(ws, gs)):
            if (g['offset'] != off or g['key'] != w['key'] or
                    g['value'] != w['value'] or
                    list(g['headers']) != w['headers'] or
                    g['ts'] != w['ts']):
                return check(name, False, 'partition %d offset %d: %r vs %r'
                             % (p, off, g, w))
    return check(name, True)


def kp_round_trip(b):
    admin = KafkaAdminClient(bootstrap_servers=b, request_timeout_ms=10000)
    admin.create_topics([NewTopic('kp6', PARTS, 1)])
    admin.create_topics([NewTopic('kp-big', 1, 1, topic_configs={
        'max.message.bytes': str(2 * MIB)})])
    admin.create_topics([NewTopic('kp-small', 1, 1, topic_configs={
        'max.message.bytes': '1000'})])
    admin.close()
    want = expected('kp')
    prod = KafkaProducer(bootstrap_servers=b, acks='all', linger_ms=5,
                         max_request_size=3 * MIB)
    t0 = time.time()
    futs = [prod.send('kp6', key=m['key'], value=m['value'],
                      headers=m['headers'], partition=m['partition'],
                      timestamp_ms=m['ts']) for m in want]
    prod.flush(60)
    metas = [f.get(10) for f in futs]
    dt = time.time() - t0
    print('# kafka-python: produced %d in %.2f s (acks=all)' % (N, dt))
    check('kafka-python: every send acknowledged',
          all(md.offset >= 0 for md in metas))
    cons = KafkaConsumer(bootstrap_servers=b, group_id=None,
                         enable_auto_commit=False,
                         auto_offset_reset='earliest',
                         consumer_timeout_ms=10000)
    tps = [TopicPartition('kp6', p) for p in range(PARTS)]
    cons.assign(tps)
    cons.seek_to_beginning()
    got = []
    t0 = time.time()
    while len(got) < N and time.time() - t0 < 60:
        for tp, recs in cons.poll(1000, max_records=5000).items():
            for r in recs:
                got.append(dict(partition=r.partition, offset=r.offset,
                                key=r.key, value=r.value,
                                headers=[(k, v) for k, v in r.headers],
                                ts=r.timestamp))
    print('# kafka-python: consumed %d in %.2f s' % (len(got),
                                                     time.time() - t0))
    compare('kafka-python: 10,000 messages, every field', want, got)

    # ListOffsets.
    beg = cons.beginning_offsets(tps)
    end = cons.end_offsets(tps)
    check('kafka-python: ListOffsets earliest = 0',
          all(v == 0 for v in beg.values()), beg)
    check('kafka-python: ListOffsets latest = count per partition',
          all(end[TopicPartition('kp6', p)] == N // PARTS +
              (1 if p < N % PARTS else 0) for p in range(PARTS)), end)
    q = {TopicPartition('kp6', 0): BASE_TS + 600,
         TopicPartition('kp6', 1): BASE_TS + 601,
         TopicPartition('kp6', 2): BASE_TS + 10 ** 9}
    ft = cons.offsets_for_times(q)
    check('kafka-python: ListOffsets by timestamp',
          ft[TopicPartition('kp6', 0)].offset == 100 and
          ft[TopicPartition('kp6', 0)].timestamp == BASE_TS + 600 and
          ft[TopicPartition('kp6', 1)].offset == 100 and
          ft[TopicPartition('kp6', 2)] is None, ft)
    cons.close()

    # Null key, tombstone, empty value, 1 MiB value.
    specials = [(None, b'no key'), (b'tomb', None), (b'empty', b''),
                (b'big', os.urandom(MIB))]
    for k, v in specials:
        prod.send('kp-big', key=k, value=v, partition=0).get(10)
    cons = KafkaConsumer(bootstrap_servers=b, group_id=None,
                         enable_auto_commit=False,
                         max_partition_fetch_bytes=64 * 1024,
                         fetch_max_bytes=64 * 1024)
    cons.assign([TopicPartition('kp-big', 0)])
    cons.seek_to_beginning()
    got = []
    t0 = time.time()
    while len(got) < 4 and time.time() - t0 < 20:
        for tp, recs in cons.poll(1000).items():
            got += [(r.key, r.value) for r in recs]
    check('kafka-python: null key, tombstone, empty value, 1 MiB value '
          '(past a 64 KiB fetch limit)', got == specials,
          [(k, v if v is None or len(v) < 20 else len(v)) for k, v in got])
    cons.close()

    # MESSAGE_TOO_LARGE.
    try:
        prod.send('kp-small', value=b'x' * 5000, partition=0).get(10)
        check('kafka-python: MESSAGE_TOO_LARGE', False, 'accepted')
    except kafka.errors.MessageSizeTooLargeError:
        check('kafka-python: MESSAGE_TOO_LARGE', True)
    except Exception as e:  # noqa: BLE001
        check('kafka-python: MESSAGE_TOO_LARGE', False, repr(e))

    # Long poll: an empty partition receives a message produced later.
    cons = KafkaConsumer(bootstrap_servers=b, group_id=None,
                         enable_auto_commit=False, fetch_max_wait_ms=10000)
    tp = TopicPartition('kp6', 5)
    cons.assign([tp])
    cons.seek_to_end(tp)
    cons.poll(200)  # settle: position fetched, a fetch parked
    sent_at = []

    def later():
        time.sleep(0.5)
        sent_at.append(time.time())
        prod.send('kp6', key=b'late', value=b'late', partition=5).get(10)
    th = threading.Thread(target=later)
    th.start()
    got_at = None
    t0 = time.time()
    while got_at is None and time.time() - t0 < 15:
        for _, recs in cons.poll(5000).items():
            if any(r.key == b'late' for r in recs):
                got_at = time.time()
    th.join()
    lat = got_at - sent_at[0] if got_at and sent_at else None
    print('# kafka-python: long-poll delivery latency %s s' % lat)
    check('kafka-python: long poll delivers within 1 s (max wait 10 s)',
          lat is not None and lat < 1.0, lat)
    cons.close()
    prod.close()


def ck_round_trip(b):
    admin = AdminClient({'bootstrap.servers': b})
    fs = admin.create_topics([
        CNewTopic('ck6', PARTS, 1),
        CNewTopic('ck-big', 1, 1, config={'max.message.bytes':
                                          str(2 * MIB)}),
        CNewTopic('ck-small', 1, 1, config={'max.message.bytes': '1000'})])
    for t, f in fs.items():
        f.result(10)
    md = admin.list_topics(timeout=10)
    check('confluent-kafka: topics created with their partition counts',
          len(md.topics['ck6'].partitions) == PARTS)
    # Creating again: TOPIC_ALREADY_EXISTS.
    f = admin.create_topics([CNewTopic('ck6', PARTS, 1)])['ck6']
    try:
        f.result(10)
        check('confluent-kafka: duplicate topic refused', False)
    except confluent_kafka.KafkaException as e:
        check('confluent-kafka: duplicate topic refused',
              e.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS, e)

    want = expected('ck')
    errors = []

    def dr(err, msg):
        if err:
            errors.append(err)
    prod = Producer({'bootstrap.servers': b, 'acks': 'all',
                     'linger.ms': 5, 'message.max.bytes': 3 * MIB})
    t0 = time.time()
    for m in want:
        while True:
            try:
                prod.produce('ck6', key=m['key'], value=m['value'],
                             headers=m['headers'],
                             partition=m['partition'],
                             timestamp=m['ts'], on_delivery=dr)
                break
            except BufferError:
                prod.poll(0.05)
        prod.poll(0)
    left = prod.flush(60)
    print('# confluent-kafka: produced %d in %.2f s (acks=all)' %
          (N, time.time() - t0))
    check('confluent-kafka: every message delivered',
          left == 0 and not errors, errors[:3])

    cons = Consumer({'bootstrap.servers': b, 'group.id': 'it-ck',
                     'enable.auto.commit': False,
                     'auto.offset.reset': 'earliest'})
    cons.assign([CTP('ck6', p, 0) for p in range(PARTS)])
    got = []
    t0 = time.time()
    while len(got) < N and time.time() - t0 < 60:
        for r in cons.consume(5000, 1.0):
            if r.error():
                continue
            got.append(dict(partition=r.partition(), offset=r.offset(),
                            key=r.key(), value=r.value(),
                            headers=list(r.headers() or []),
                            ts=r.timestamp()[1]))
    print('# confluent-kafka: consumed %d in %.2f s' % (len(got),
                                                        time.time() - t0))
    compare('confluent-kafka: 10,000 messages, every field', want, got)

    lo, hi = cons.get_watermark_offsets(CTP('ck6', 0), timeout=10,
                                        cached=False)
    check('confluent-kafka: ListOffsets earliest/latest',
          lo == 0 and hi == N // PARTS + 1, (lo, hi))
    ot = cons.offsets_for_times([CTP('ck6', 3, BASE_TS + 903)], timeout=10)
    check('confluent-kafka: ListOffsets by timestamp',
          ot[0].offset == 150, ot)

    specials = [(None, b'no key'), (b'tomb', None), (b'empty', b''),
                (b'big', os.urandom(MIB))]
    for k, v in specials:
        prod.produce('ck-big', key=k, value=v, partition=0, on_delivery=dr)
    prod.flush(20)
    c2 = Consumer({'bootstrap.servers': b, 'group.id': 'it-ck2',
                   'enable.auto.commit': False,
                   'fetch.max.bytes': 65536, 'message.max.bytes': 65536,
                   'max.partition.fetch.bytes': 65536})
    c2.assign([CTP('ck-big', 0, 0)])
    got = []
    t0 = time.time()
    while len(got) < 4 and time.time() - t0 < 20:
        r = c2.poll(1.0)
        if r is not None and not r.error():
            got.append((r.key(), r.value()))
    check('confluent-kafka: null key, tombstone, empty value, 1 MiB value',
          got == specials and not errors,
          [(k, v if v is None or len(v) < 20 else len(v)) for k, v in got])
    c2.close()

    too_big = []
    prod.produce('ck-small', value=b'x' * 5000, partition=0,
                 on_delivery=lambda err, msg: too_big.append(err))
    prod.flush(20)
    check('confluent-kafka: MESSAGE_TOO_LARGE',
          too_big and too_big[0] is not None and
          too_big[0].code() == KafkaError.MSG_SIZE_TOO_LARGE, too_big)

    # Long poll.
    c3 = Consumer({'bootstrap.servers': b, 'group.id': 'it-ck3',
                   'enable.auto.commit': False,
                   'fetch.wait.max.ms': 10000})
    c3.assign([CTP('ck6', 4, confluent_kafka.OFFSET_END)])
    c3.poll(1.0)
    sent_at = time.time()
    prod.produce('ck6', key=b'late', value=b'late', partition=4)
    prod.flush(10)
    got_at = None
    while got_at is None and time.time() - sent_at < 15:
        r = c3.poll(0.5)
        if r is not None and not r.error() and r.key() == b'late':
            got_at = time.time()
    lat = got_at - sent_at if got_at else None
    print('# confluent-kafka: long-poll delivery latency %s s' % lat)
    check('confluent-kafka: long poll delivers within 1 s (max wait 10 s)',
          lat is not None and lat < 1.0, lat)
    c3.close()
    cons.close()


with Server(sys.argv[1]) as s:
    kp_round_trip(s.bootstrap)
    ck_round_trip(s.bootstrap)
    check('server alive', s.alive())
    check('graceful stop', s.stop() == 0, s.log_tail())
finish()
