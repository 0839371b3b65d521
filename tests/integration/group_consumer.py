#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""One group consumer for test_groups*.py, run as its own process so the
tests can kill -9 it. Prints JSON lines on stdout:
  {"ready": true}
  {"assigned": [partitions...], "events": N}   whenever it changes
  {"msg": [partition, offset, value]}          per record (if --print)
  {"closed": true}                             after SIGTERM + close()
Usage: group_consumer.py CLIENT BOOTSTRAP GROUP TOPIC ASSIGNOR
       [--instance ID] [--session MS] [--print] [--no-commit]
CLIENT is ck (confluent-kafka) or kp (kafka-python)."""
import argparse
import json
import signal
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument('client')
ap.add_argument('bootstrap')
ap.add_argument('group')
ap.add_argument('topic')
ap.add_argument('assignor')
ap.add_argument('--instance')
ap.add_argument('--session', type=int, default=6000)
ap.add_argument('--print', action='store_true')
ap.add_argument('--no-commit', action='store_true')
args = ap.parse_args()

stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)


def out(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


events = 0
last = None


last_events = -1


def report(parts):
    global last, last_events
    parts = sorted(parts)
    if parts != last or events != last_events:
        last, last_events = parts, events
        out({'assigned': parts, 'events': events})


if args.client == 'ck':
    from confluent_kafka import Consumer

    conf = {'bootstrap.servers': args.bootstrap, 'group.id': args.group,
            'auto.offset.reset': 'earliest',
            'session.timeout.ms': args.session,
            'heartbeat.interval.ms': 500,
            'partition.assignment.strategy': args.assignor,
            'enable.auto.commit': not args.no_commit,
            'auto.commit.interval.ms': 500}
    if args.instance:
        conf['group.instance.id'] = args.instance
    c = Consumer(conf)

    def on_assign(cons, parts):
        global events
        events += 1

    def on_revoke(cons, parts):
        global events
        events += 1

    c.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke)
    out({'ready': True})
    while not stop:
        m = c.poll(0.2)
        report([tp.partition for tp in c.assignment()])
        if m is None or m.error():
            continue
        if args.print:
            out({'msg': [m.partition(), m.offset(),
                         m.value().decode()]})
    c.close()
    out({'closed': True})
else:
    from kafka import KafkaConsumer, ConsumerRebalanceListener
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import \
        RoundRobinPartitionAssignor
    from kafka.coordinator.assignors.sticky.sticky_assignor import \
        StickyPartitionAssignor

    assignors = {'range': RangePartitionAssignor,
                 'roundrobin': RoundRobinPartitionAssignor,
                 'sticky': StickyPartitionAssignor}

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            global events
            events += 1

        def on_partitions_assigned(self, assigned):
            global events
            events += 1

    c = KafkaConsumer(bootstrap_servers=args.bootstrap,
                      group_id=args.group,
                      auto_offset_reset='earliest',
                      session_timeout_ms=args.session,
                      heartbeat_interval_ms=500,
                      enable_auto_commit=not args.no_commit,
                      auto_commit_interval_ms=500,
                      partition_assignment_strategy=[
                          assignors[args.assignor]],
                      api_version_auto_timeout_ms=10000)
    c.subscribe([args.topic], listener=Listener())
    out({'ready': True})
    while not stop:
        recs = c.poll(timeout_ms=200)
        report([tp.partition for tp in c.assignment()])
        for tp, ms in recs.items():
            for m in ms:
                if args.print:
                    out({'msg': [m.partition, m.offset,
                                 m.value.decode()]})
    c.close()
    out({'closed': True})
time.sleep(0.1)
