"""kafka-python driver for capture.py (run with /usr/bin/python3): MODE BOOTSTRAP."""
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

mode, bs = sys.argv[1], sys.argv[2]
TOPIC = "golden-kafka-python"
common = dict(bootstrap_servers=bs, client_id="chronik-golden-kafka-python", request_timeout_ms=10000)

if mode == "producer":
    for codec in (None, "gzip"):
        p = KafkaProducer(compression_type=codec, linger_ms=20, **common)
        ts = 1700000000000
        for i in range(3):
            p.send(TOPIC, key=b"key-%d" % i, value=b"value %d" % i,
                   headers=[("hdr-a", b"alpha"), ("hdr-n", str(i).encode())], timestamp_ms=ts + i)
        p.send(TOPIC, key=None, value=b"no key, no headers", partition=0)
        # kafka-python sends a batch uncompressed when compression does not make it smaller
        p.send(TOPIC, key=b"compressible", value=b"abcdefgh" * 40, partition=0)
        p.flush(10)
        p.close(5)
elif mode == "consumer":
    c = KafkaConsumer(TOPIC, group_id="kafka-python-group", auto_offset_reset="earliest",
                      consumer_timeout_ms=4000, enable_auto_commit=False,
                      **dict(common, request_timeout_ms=15000))
    n = 0
    for msg in c:
        n += 1
    print("consumed", n)
    c.commit()
    c.close()
elif mode == "admin":
    a = KafkaAdminClient(**common)
    a.create_topics([NewTopic("golden-kp-admin-1", 4, 1),
                     NewTopic("golden-kp-admin-2", 1, 1, topic_configs={"cleanup.policy": "compact"})])
    print(a.list_consumer_groups())
    a.delete_topics(["golden-kp-admin-1", "golden-kp-admin-2"])
    a.close()
