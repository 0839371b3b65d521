#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Long polling over many partitions, with confluent-kafka: the broker
watches only the partitions parked fetches wait on. A consumer parked on
all 300 partitions of a topic gets a record produced to any of them
within a second (fetch.wait.max.ms 10 s), also while another topic takes
a steady stream of records (wake-ups for other partitions); two fetches
parked on one partition both wake; the topic grows (CreatePartitions)
and is deleted while fetches are parked on it. And a topic of 300
partitions costs the broker little memory (its index files stay sparse
and unmapped: it used to be ~5 MiB a partition)."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, check, finish, skip  # noqa: E402
from kraw import Raw, W  # noqa: E402

try:
    import confluent_kafka
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic
except ImportError as e:
    skip('confluent-kafka missing: %s' % e)

WIDE = 'wide'
NPARTS = 300


def rss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def wait_futures(fs, what):
    for k, f in fs.items():
        try:
            f.result(60)
        except Exception as e:  # noqa: BLE001
            check('%s %s' % (what, k), False, e)
            return False
    return True


def parked_consumer(b, group, tps, prod):
    """A consumer of tps whose Fetch covers all of them: it reads a
    warm-up record from each (librdkafka adds a partition to its Fetch
    only once it knows where to read it, the others' Fetch may be parked
    meanwhile); then its next Fetch parks."""
    c = Consumer({'bootstrap.servers': b, 'group.id': group,
                  'enable.auto.commit': False,
                  'fetch.wait.max.ms': 10000})
    c.assign([TopicPartition(t, p, confluent_kafka.OFFSET_END)
              for t, p in tps])
    want = set(tps)
    deadline = time.time() + 30
    while want and time.time() < deadline:
        for t, p in want:
            prod.produce(t, key=b'warm-' + group.encode(), value=b'w',
                         partition=p)
        prod.flush(10)
        t1 = time.time() + 2
        while want and time.time() < t1:
            r = c.poll(0.1)
            if r is not None and not r.error() and \
                    r.key() == b'warm-' + group.encode():
                want.discard((r.topic(), r.partition()))
    check('%s: a warm-up record read from each partition' % group,
          not want, sorted(want)[:10])
    time.sleep(0.3)
    return c


def wait_for(c, key, limit=15):
    """Seconds until `key` arrives on c (None if it does not)."""
    t0 = time.time()
    while time.time() - t0 < limit:
        r = c.poll(0.1)
        if r is not None and not r.error() and r.key() == key:
            return time.time() - t0
    return None


def produce_one(prod, topic, part, key):
    prod.produce(topic, key=key, value=b'v-' + key, partition=part)
    prod.flush(10)


def main():
    with Server(sys.argv[1]) as s:
        b = s.bootstrap
        admin = AdminClient({'bootstrap.servers': b})
        rss0 = rss_kb(s.proc.pid)
        if not wait_futures(admin.create_topics(
                [NewTopic(WIDE, NPARTS, 1), NewTopic('busy', 1, 1)]),
                'create'):
            finish()
        grew = rss_kb(s.proc.pid) - rss0
        print('# RSS %d kB -> +%d kB for %d partitions' % (rss0, grew,
                                                             NPARTS))
        check('%d partitions cost < 40 MB of memory' % NPARTS,
              grew < 40 * 1024, grew)

        prod = Producer({'bootstrap.servers': b, 'linger.ms': 0})
        c1 = parked_consumer(b, 'lp1', [(WIDE, p) for p in range(NPARTS)],
                             prod)
        produce_one(prod, WIDE, 123, b'k123')
        lat = wait_for(c1, b'k123')
        print('# parked on %d partitions: delivery in %s s' % (NPARTS, lat))
        check('parked on every partition: a record on one arrives '
              'within 1 s', lat is not None and lat < 1.0, lat)

        # Wake-ups for another topic must neither lose nor invent work.
        stop = threading.Event()

        def stream():
            p = Producer({'bootstrap.servers': b, 'linger.ms': 1})
            i = 0
            while not stop.is_set():
                p.produce('busy', value=b'%d' % i)
                i += 1
                if i % 200 == 0:
                    p.poll(0)
                    time.sleep(0.005)
            p.flush(10)

        th = threading.Thread(target=stream)
        th.start()
        try:
            c2 = parked_consumer(b, 'lp2', [(WIDE, 7), (WIDE, 250)], prod)
            time.sleep(0.5)
            produce_one(prod, WIDE, 7, b'k7')
            l1 = wait_for(c1, b'k7')
            l2 = wait_for(c2, b'k7')
            print('# two fetches on one partition, other topic busy: %s s, '
                  '%s s' % (l1, l2))
            check('two fetches parked on one partition both wake '
                  '(another topic busy)', l1 is not None and l1 < 1.0 and
                  l2 is not None and l2 < 1.0, (l1, l2))
            spurious = c2.poll(1.0)
            check('nothing else is delivered', spurious is None or
                  spurious.error() is not None, spurious)
        finally:
            stop.set()
            th.join(30)

        # Grow the topic while fetches are parked on it.
        if wait_futures(admin.create_partitions(
                [NewPartitions(WIDE, NPARTS + 20)]), 'grow'):
            produce_one(prod, WIDE, 250, b'k250')
            l1 = wait_for(c1, b'k250')
            l2 = wait_for(c2, b'k250')
            check('after CreatePartitions, parked fetches still wake',
                  l1 is not None and l1 < 1.0 and l2 is not None and
                  l2 < 1.0, (l1, l2))

        ends = {p: c1.get_watermark_offsets(TopicPartition(WIDE, p),
                                            timeout=10)[1]
                for p in (7, 250)}
        c1.close()
        c2.close()

        # Delete it under a Fetch parked at the end of partitions 7 and 250
        # (raw: librdkafka's consumer close
        # can hang once its assigned topic is gone, librdkafka #4362): the
        # broker answers it at once and goes on.
        raw = Raw(b, timeout=30)
        body = (W().i32(-1).i32(10000).i32(1).i32(1 << 20).i8(0)
                .arr([WIDE], lambda w, t: w.s(t).arr(
                    [7, 250], lambda w2, p: w2.i32(p).i64(ends[p])
                    .i32(1 << 20))))
        out = {}

        def fetch():
            t0 = time.time()
            try:
                r = raw.call(1, 4, body, False)
                r.i32()  # throttle
                n = r.i32()
                errs = []
                for _ in range(n):
                    r.s()
                    for _ in range(r.i32()):
                        r.i32()
                        errs.append(r.i16())
                        break
                    break
                out['errs'] = errs
            except Exception as e:  # noqa: BLE001
                out['exc'] = e
            out['t'] = time.time() - t0

        th = threading.Thread(target=fetch)
        th.start()
        time.sleep(1.0)
        wait_futures(admin.delete_topics([WIDE]), 'delete')
        th.join(20)
        print('# parked Fetch during DeleteTopics: %s' % out)
        check('a Fetch parked on a deleted topic is answered at once, '
              'with UNKNOWN_TOPIC_OR_PARTITION',
              'errs' in out and out['t'] < 5.0 and out['errs'] == [3], out)
        check('broker alive after deleting a topic with parked fetches',
              s.alive(), s.log_tail())
        raw.close()
        c3 = parked_consumer(b, 'lp3', [('busy', 0)], prod)
        produce_one(prod, 'busy', 0, b'kb')
        lat = wait_for(c3, b'kb')
        check('long polls work after the deletion', lat is not None and
              lat < 1.0, lat)
        c3.close()
    finish()


main()
