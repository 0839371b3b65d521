"""confluent-kafka driver for capture.py (run with /usr/bin/python3): MODE BOOTSTRAP."""
import sys

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

mode, bs = sys.argv[1], sys.argv[2]
TOPIC = "golden-confluent"
common = {"bootstrap.servers": bs, "client.id": "chronik-golden-confluent"}

if mode == "producer":
    for codec in ("zstd", "snappy"):
        p = Producer(dict(common, **{"enable.idempotence": True, "compression.type": codec, "linger.ms": 20}))
        for i in range(3):
            p.produce(TOPIC, key=b"key-%d" % i, value=b"value %d (%s)" % (i, codec.encode()),
                      headers=[("hdr-a", b"alpha"), ("hdr-null", None)], timestamp=1700000000000 + i)
        p.produce(TOPIC, value=b"no key", partition=1)
        left = p.flush(10)
        print("unflushed", left)
elif mode == "consumer":
    c = Consumer(dict(common, **{"group.id": "confluent-group", "auto.offset.reset": "earliest",
                                 "enable.auto.commit": False}))
    c.subscribe([TOPIC])
    n = 0
    for _ in range(12):
        m = c.poll(0.5)
        if m is not None and not m.error():
            n += 1
    print("consumed", n)
    if n:
        c.commit(asynchronous=False)
    c.close()
elif mode == "admin":
    a = AdminClient(common)
    fs = a.create_topics([NewTopic("golden-cf-admin", num_partitions=2, replication_factor=1,
                                   config={"retention.ms": "3600000"})], operation_timeout=5)
    for t, f in fs.items():
        print(t, f.result(10))
    fs = a.describe_configs([ConfigResource("topic", "golden-cf-admin"), ConfigResource("broker", "1")])
    for r, f in fs.items():
        print(r, sorted(f.result(10)))
    print(a.list_topics(timeout=10).topics.keys())
    fs = a.delete_topics(["golden-cf-admin"], operation_timeout=5)
    for t, f in fs.items():
        print(t, f.result(10))
