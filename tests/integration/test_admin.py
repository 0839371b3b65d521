#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Admin APIs against the real server with unmodified clients:
confluent-kafka's AdminClient (create/delete topics, configs,
partitions, list_topics), kafka-python's KafkaAdminClient, kcat -L after
each change, and raw requests (kraw.py) for what those clients predate:
CreateTopics v7, DeleteTopics v6 by id, DeleteRecords,
IncrementalAlterConfigs, DescribeCluster, DescribeLogDirs v4,
DescribeTopicPartitions. Configs and deletions survive a restart."""
import os
import shutil
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, check, finish, skip  # noqa: E402
from kraw import Raw, W  # noqa: E402

try:
    from confluent_kafka import KafkaError, KafkaException, Producer
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import (AdminClient, ConfigResource,
                                       NewPartitions, NewTopic)
    import kafka
    from kafka.admin import (KafkaAdminClient, ConfigResourceType,
                             NewPartitions as KNewPartitions,
                             NewTopic as KNewTopic)
    from kafka.admin import ConfigResource as KConfigResource
    import kafka.errors as kerr
except ImportError as e:
    skip('python Kafka clients missing: %s' % e)

KCAT = shutil.which('kcat')

# Kafka error codes.
OFFSET_OUT_OF_RANGE = 1
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_TOPIC_EXCEPTION = 17
TOPIC_ALREADY_EXISTS = 36
INVALID_PARTITIONS = 37
INVALID_REPLICATION_FACTOR = 38
INVALID_REPLICA_ASSIGNMENT = 39
INVALID_CONFIG = 40
INVALID_REQUEST = 42
POLICY_VIOLATION = 44
UNKNOWN_TOPIC_ID = 100
MISMATCHED_ENDPOINT_TYPE = 114

# ConfigSource.
TOPIC_CONFIG = 1
STATIC_BROKER_CONFIG = 4
DEFAULT_CONFIG = 5


def wait_all(fs):
    """{key: None or KafkaError code} for a dict of futures."""
    out = {}
    for k, f in fs.items():
        try:
            f.result(timeout=15)
            out[k] = None
        except KafkaException as e:
            out[k] = e.args[0].code()
    return out


def kcat_topics(b):
    """{topic: partition count} from kcat -L, or None without kcat."""
    if not KCAT:
        return None
    out = subprocess.run([KCAT, '-b', b, '-L', '-m', '5'],
                         capture_output=True, text=True, timeout=30).stdout
    topics = {}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith('topic "'):
            name = line.split('"')[1]
            n = int(line.split(' with ')[1].split()[0])
            topics[name] = n
    return topics


def kcat_check(name, b, want):
    """want: {topic: partitions or None (absent)}."""
    got = kcat_topics(b)
    if got is None:
        return check(name + ' (kcat missing, skipped)', True)
    bad = {t: got.get(t) for t, n in want.items() if got.get(t) != n}
    return check(name, not bad, 'kcat -L: %r, want %r' % (got, want))


def describe(admin, topic):
    res = admin.describe_configs([ConfigResource('topic', topic)])
    return list(res.values())[0].result(timeout=15)


def produce(b, topic, n, partition=0):
    p = Producer({'bootstrap.servers': b, 'linger.ms': 0})
    for i in range(n):
        p.produce(topic, key=b'k%d' % i, value=b'v%d' % i,
                  partition=partition)
    left = p.flush(15)
    return left == 0


def watermarks(b, topic, partition=0):
    c = Consumer({'bootstrap.servers': b, 'group.id': 'wm'})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition),
                                       timeout=10)
    finally:
        c.close()


# ---- confluent-kafka ------------------------------------------------------

def ck_create(s, admin):
    b = s.bootstrap
    r = wait_all(admin.create_topics([
        NewTopic('ck-cfg', 3, 1, config={
            'retention.ms': '3600000', 'cleanup.policy': 'compact,delete',
            'segment.bytes': '1048576', 'max.message.bytes': '2000000',
            'compression.type': 'lz4', 'min.insync.replicas': '1',
            'message.timestamp.type': 'LogAppendTime',
            'delete.retention.ms': '1000', 'segment.ms': '60000',
            'retention.bytes': '-1'}),
        NewTopic('ck-plain', 2, 1),
        NewTopic('ck-default', -1, -1),
        NewTopic('ck-assign', 2, replica_assignment=[[1], [1]]),
    ]))
    check('ck create_topics with configs, defaults, assignments',
          all(v is None for v in r.values()), r)
    md = admin.list_topics(timeout=10)
    check('ck list_topics shows them',
          len(md.topics['ck-cfg'].partitions) == 3 and
          len(md.topics['ck-plain'].partitions) == 2 and
          len(md.topics['ck-default'].partitions) == 1 and
          len(md.topics['ck-assign'].partitions) == 2,
          {t: len(v.partitions) for t, v in md.topics.items()})
    kcat_check('kcat -L after create', b, {'ck-cfg': 3, 'ck-plain': 2,
                                           'ck-assign': 2})

    r = wait_all(admin.create_topics([NewTopic('ck-vo', 4, 1)],
                                     validate_only=True))
    check('ck validate_only succeeds', r == {'ck-vo': None}, r)
    md = admin.list_topics(timeout=10)
    check('ck validate_only creates nothing', 'ck-vo' not in md.topics)
    r = wait_all(admin.create_topics([NewTopic('ck-vo-bad', 1, 1, config={
        'segment.bytes': '5'})], validate_only=True))
    check('ck validate_only still validates',
          r == {'ck-vo-bad': KafkaError.INVALID_CONFIG}, r)

    r = wait_all(admin.create_topics([NewTopic('ck-plain', 2, 1)]))
    check('ck already exists', r == {
        'ck-plain': KafkaError.TOPIC_ALREADY_EXISTS}, r)

    bad_cfgs = {
        'bc-segment': {'segment.bytes': '1000'},
        'bc-unknown': {'no.such.config': '1'},
        'bc-policy': {'cleanup.policy': 'shred'},
        'bc-codec': {'compression.type': 'brotli'},
        'bc-retention': {'retention.ms': '-2'},
        'bc-tstype': {'message.timestamp.type': 'Whenever'},
        'bc-minisr': {'min.insync.replicas': '2'},
        'bc-number': {'retention.ms': 'soon'},
        'bc-int': {'max.message.bytes': '3000000000'},
        'bc-delret': {'delete.retention.ms': '-1'},
        'bc-segms': {'segment.ms': '0'},
    }
    r = wait_all(admin.create_topics(
        [NewTopic(n, 1, 1, config=c) for n, c in bad_cfgs.items()]))
    check('ck invalid configs -> INVALID_CONFIG',
          all(v == KafkaError.INVALID_CONFIG for v in r.values()), r)
    fut = admin.create_topics([NewTopic('bc-msg', 1, 1, config={
        'segment.bytes': '1000'})])['bc-msg']
    try:
        fut.result(timeout=15)
        msg = ''
    except KafkaException as e:
        msg = e.args[0].str()
    check('ck INVALID_CONFIG carries Kafka\'s message',
          'segment.bytes' in msg and 'at least 1048576' in msg, msg)
    md = admin.list_topics(timeout=10)
    check('no topic left behind by failed creates',
          not any(t.startswith('bc-') for t in md.topics), md.topics)

    names = ['bad name', '..', '.', 'x' * 250, 'caf\u00e9']
    r = wait_all(admin.create_topics([NewTopic(n, 1, 1) for n in names]))
    check('ck invalid names -> INVALID_TOPIC_EXCEPTION',
          all(v == KafkaError.TOPIC_EXCEPTION for v in r.values()), r)
    wait_all(admin.create_topics([NewTopic('col_x', 1, 1)]))
    r = wait_all(admin.create_topics([NewTopic('col.x', 1, 1)]))
    check('ck collision of col.x with col_x',
          r == {'col.x': KafkaError.TOPIC_EXCEPTION}, r)

    r = wait_all(admin.create_topics([NewTopic('rf3', 1, 3),
                                      NewTopic('rf0', 1, 0)]))
    check('ck replication factor > brokers -> INVALID_REPLICATION_FACTOR',
          r.get('rf3') == KafkaError.INVALID_REPLICATION_FACTOR, r)
    r = wait_all(admin.create_topics([
        NewTopic('ra-bad', 1, replica_assignment=[[2]]),
        NewTopic('ra-dup', 1, replica_assignment=[[1, 1]])]))
    check('ck bad assignments -> INVALID_REPLICA_ASSIGNMENT',
          all(v == KafkaError.INVALID_REPLICA_ASSIGNMENT
              for v in r.values()), r)


def ck_configs(s, admin):
    b = s.bootstrap
    cfg = describe(admin, 'ck-cfg')
    want = {'retention.ms': '3600000', 'cleanup.policy': 'compact,delete',
            'segment.bytes': '1048576', 'compression.type': 'lz4',
            'message.timestamp.type': 'LogAppendTime'}
    bad = {k: (cfg[k].value, cfg[k].source) for k in want
           if cfg[k].value != want[k] or cfg[k].source != TOPIC_CONFIG}
    check('ck describe_configs: topic values, source TOPIC_CONFIG', not bad,
          bad)
    check('ck describe_configs: defaults have DEFAULT_CONFIG',
          cfg['segment.index.bytes'].value == '10485760' and
          cfg['segment.index.bytes'].source == DEFAULT_CONFIG and
          cfg['min.cleanable.dirty.ratio'].value == '0.5',
          (cfg['segment.index.bytes'].value,
           cfg['segment.index.bytes'].source))
    check('ck describe_configs: topic configs writable',
          not any(c.is_read_only or c.is_sensitive for c in cfg.values()))
    syn = cfg['retention.ms'].synonyms
    check('ck describe_configs: synonyms (topic, then broker default)',
          list(syn)[:2] == ['retention.ms', 'log.retention.ms'],
          list(syn))
    res = admin.describe_configs([ConfigResource('broker', '1')])
    bcfg = list(res.values())[0].result(timeout=15)
    check('ck describe_configs broker: static, read-only',
          bcfg['num.partitions'].value == '1' and
          bcfg['num.partitions'].is_read_only and
          bcfg['log.retention.ms'].value == '604800000' and
          bcfg['broker.id'].value == '1',
          {k: v.value for k, v in bcfg.items()})
    res = admin.describe_configs([ConfigResource('topic', 'nope')])
    try:
        list(res.values())[0].result(timeout=15)
        code = None
    except KafkaException as e:
        code = e.args[0].code()
    check('ck describe_configs unknown topic -> UNKNOWN_TOPIC_OR_PART',
          code == KafkaError.UNKNOWN_TOPIC_OR_PART, code)

    # AlterConfigs replaces the whole set.
    r = wait_all(admin.alter_configs([ConfigResource(
        'topic', 'ck-cfg', set_config={'retention.ms': '7200000',
                                       'cleanup.policy': 'compact'})],
        validate_only=True))
    check('ck alter_configs validate_only', all(
        v is None for v in r.values()), r)
    check('ck alter_configs validate_only changes nothing',
          describe(admin, 'ck-cfg')['retention.ms'].value == '3600000')
    r = wait_all(admin.alter_configs([ConfigResource(
        'topic', 'ck-cfg', set_config={'retention.ms': '7200000',
                                       'cleanup.policy': 'compact'})]))
    check('ck alter_configs', all(v is None for v in r.values()), r)
    cfg = describe(admin, 'ck-cfg')
    check('ck alter_configs replaced the whole set',
          cfg['retention.ms'].value == '7200000' and
          cfg['cleanup.policy'].value == 'compact' and
          cfg['segment.bytes'].source == DEFAULT_CONFIG and
          cfg['compression.type'].value == 'producer',
          {k: (cfg[k].value, cfg[k].source) for k in
           ('retention.ms', 'cleanup.policy', 'segment.bytes')})
    r = wait_all(admin.alter_configs([ConfigResource(
        'topic', 'ck-cfg', set_config={'segment.bytes': '12'})]))
    check('ck alter_configs invalid -> INVALID_CONFIG',
          list(r.values()) == [KafkaError.INVALID_CONFIG], r)
    r = wait_all(admin.alter_configs([ConfigResource(
        'broker', '1', set_config={'num.partitions': '3'})]))
    check('ck alter_configs static broker config -> INVALID_REQUEST',
          list(r.values()) == [KafkaError.INVALID_REQUEST], r)


def ck_partitions(s, admin):
    b = s.bootstrap
    r = wait_all(admin.create_partitions([NewPartitions('ck-plain', 4)]))
    check('ck create_partitions 2 -> 4', r == {'ck-plain': None}, r)
    md = admin.list_topics(timeout=10)
    check('ck list_topics sees 4 partitions',
          len(md.topics['ck-plain'].partitions) == 4)
    kcat_check('kcat -L after create_partitions', b, {'ck-plain': 4})
    r = wait_all(admin.create_partitions([NewPartitions('ck-plain', 2)]))
    check('ck create_partitions decrease -> INVALID_PARTITIONS',
          r == {'ck-plain': KafkaError.INVALID_PARTITIONS}, r)
    r = wait_all(admin.create_partitions([NewPartitions('ck-plain', 4)]))
    check('ck create_partitions same count -> INVALID_PARTITIONS',
          r == {'ck-plain': KafkaError.INVALID_PARTITIONS}, r)
    r = wait_all(admin.create_partitions([NewPartitions('ck-plain', 9)],
                                         validate_only=True))
    md = admin.list_topics(timeout=10)
    check('ck create_partitions validate_only changes nothing',
          r == {'ck-plain': None} and
          len(md.topics['ck-plain'].partitions) == 4, r)
    r = wait_all(admin.create_partitions([NewPartitions('nope', 3)]))
    check('ck create_partitions unknown topic',
          r == {'nope': KafkaError.UNKNOWN_TOPIC_OR_PART}, r)
    r = wait_all(admin.create_partitions([NewPartitions(
        'ck-plain', 5, replica_assignment=[[7]])]))
    check('ck create_partitions bad assignment',
          r == {'ck-plain': KafkaError.INVALID_REPLICA_ASSIGNMENT}, r)
    # The new partitions take data.
    ok = produce(b, 'ck-plain', 5, partition=3)
    lo, hi = watermarks(b, 'ck-plain', 3)
    check('new partition 3 takes records', ok and (lo, hi) == (0, 5),
          (lo, hi))


# ---- kafka-python --------------------------------------------------------

def kp_admin(s):
    b = s.bootstrap
    admin = KafkaAdminClient(bootstrap_servers=b, request_timeout_ms=10000)
    try:
        admin.create_topics([KNewTopic('kp-a', 2, 1, topic_configs={
            'retention.ms': '120000'})])
        check('kp create_topics', True)
    except Exception as e:  # noqa: BLE001
        check('kp create_topics', False, repr(e))
    try:
        admin.create_topics([KNewTopic('kp-a', 2, 1)])
        check('kp create_topics duplicate raises', False)
    except kerr.TopicAlreadyExistsError:
        check('kp create_topics duplicate -> TopicAlreadyExistsError', True)
    try:
        admin.create_topics([KNewTopic('kp-bad', 1, 1, topic_configs={
            'cleanup.policy': 'nope'})])
        check('kp invalid config raises', False)
    except kerr.InvalidConfigurationError:
        check('kp invalid config -> InvalidConfigurationError', True)
    res = admin.describe_configs([KConfigResource(
        ConfigResourceType.TOPIC, 'kp-a')])
    entries = {e[0]: e[1] for e in res[0].resources[0][4]}
    check('kp describe_configs', entries.get('retention.ms') == '120000' and
          entries.get('cleanup.policy') == 'delete', entries)
    res = admin.describe_configs([KConfigResource(
        ConfigResourceType.BROKER, '1')])
    entries = {e[0]: e[1] for e in res[0].resources[0][4]}
    check('kp describe_configs broker', entries.get('broker.id') == '1',
          entries)
    admin.alter_configs([KConfigResource(ConfigResourceType.TOPIC, 'kp-a',
                                         configs={'retention.ms': '60000'})])
    res = admin.describe_configs([KConfigResource(
        ConfigResourceType.TOPIC, 'kp-a')])
    entries = {e[0]: e[1] for e in res[0].resources[0][4]}
    check('kp alter_configs', entries.get('retention.ms') == '60000',
          entries)
    resp = admin.create_partitions({'kp-a': KNewPartitions(5)})
    check('kp create_partitions', all(e[1] == 0 for e in
                                      resp.topic_errors), resp)
    kcat_check('kcat -L after kp changes', b, {'kp-a': 5})
    resp = admin.delete_topics(['kp-a'])
    check('kp delete_topics', all(e[1] == 0 for e in
                                  resp.topic_error_codes), resp)
    kcat_check('kcat -L after kp delete', b, {'kp-a': None})
    admin.close()


# ---- raw requests ---------------------------------------------------------

def create_v7(c, name, parts, rf, configs=None, validate_only=False):
    def topic(w, t):
        w.cs(t[0]).i32(t[1]).i16(t[2]).carr([], None)
        w.carr(sorted((t[3] or {}).items()),
               lambda w, kv: w.cs(kv[0]).cs(kv[1]).tags())
        w.tags()
    body = W().carr([(name, parts, rf, configs)], topic).i32(10000)
    body.b(validate_only).tags()
    r = c.call(19, 7, body, flexible=True)
    r.i32()

    def result(r):
        t = dict(name=r.cs(), id=r.uuid(), error=r.i16(), msg=r.cs())
        t['parts'] = r.i32()
        t['rf'] = r.i16()
        t['configs'] = r.carr(lambda r: (r.cs(), r.cs(), r.b(), r.i8(),
                                         r.b(), r.tags())[:4])
        r.tags()
        return t
    topics = r.carr(result)
    r.tags()
    return topics[0]


def raw_create_delete(s):
    c = Raw(s.bootstrap)
    t = create_v7(c, 'raw-v7', -1, -1, {'retention.ms': '99000'})
    cfg = {n: (v, src) for n, v, ro, src in t['configs'] or []}
    check('CreateTopics v7: id, defaults, configs with sources',
          t['error'] == 0 and t['id'] != uuid.UUID(int=0) and
          t['parts'] == 1 and t['rf'] == 1 and
          cfg.get('retention.ms') == ('99000', TOPIC_CONFIG) and
          cfg.get('segment.bytes') == ('1073741824', DEFAULT_CONFIG), t)
    v = create_v7(c, 'raw-v7-vo', 2, 1, validate_only=True)
    check('CreateTopics v7 validate_only: no id, configs reported',
          v['error'] == 0 and v['id'] == uuid.UUID(int=0) and
          v['parts'] == 2 and len(v['configs'] or []) > 20, v)
    e = create_v7(c, 'raw-v7', 1, 1)
    check('CreateTopics v7 exists: message, null configs',
          e['error'] == TOPIC_ALREADY_EXISTS and 'already exists' in
          (e['msg'] or '') and e['configs'] is None, e)
    e = create_v7(c, 'raw-p0', 0, 1)
    check('CreateTopics num_partitions 0 -> INVALID_PARTITIONS',
          e['error'] == INVALID_PARTITIONS, e)
    e = create_v7(c, 'raw-rf0', 1, 0)
    check('CreateTopics replication_factor 0 -> INVALID_REPLICATION_FACTOR',
          e['error'] == INVALID_REPLICATION_FACTOR, e)

    def delete_v6(entries):
        body = W().carr(entries, lambda w, e: w.cs(e[0]).uuid(
            e[1]).tags()).i32(10000).tags()
        r = c.call(20, 6, body, flexible=True)
        r.i32()
        out = r.carr(lambda r: (r.cs(), r.uuid(), r.i16(), r.cs(),
                                r.tags())[:4])
        r.tags()
        return out
    out = delete_v6([(None, t['id'])])
    check('DeleteTopics v6 by id', out[0][2] == 0 and out[0][0] == 'raw-v7'
          and out[0][1] == t['id'], out)
    out = delete_v6([(None, uuid.uuid4())])
    check('DeleteTopics v6 unknown id -> UNKNOWN_TOPIC_ID',
          out[0][2] == UNKNOWN_TOPIC_ID, out)
    out = delete_v6([('raw-none', uuid.UUID(int=0))])
    check('DeleteTopics v6 unknown name -> UNKNOWN_TOPIC_OR_PARTITION',
          out[0][2] == UNKNOWN_TOPIC_OR_PARTITION and out[0][3], out)
    c.close()


def raw_delete_records(s, admin):
    b = s.bootstrap
    wait_all(admin.create_topics([NewTopic('dr', 2, 1),
                                  NewTopic('dr-compact', 1, 1, config={
                                      'cleanup.policy': 'compact'})]))
    produce(b, 'dr', 10)
    c = Raw(b)

    def delete(topic, parts):
        body = W().arr([(topic, parts)], lambda w, t: w.s(t[0]).arr(
            t[1], lambda w, p: w.i32(p[0]).i64(p[1]))).i32(10000)
        r = c.call(21, 1, body, flexible=False)
        r.i32()
        out = r.arr(lambda r: (r.s(), r.arr(lambda r: (r.i32(), r.i64(),
                                                       r.i16()))))
        return {p: (lw, err) for p, lw, err in out[0][1]}
    out = delete('dr', [(0, 4)])
    check('DeleteRecords to 4: low watermark 4', out == {0: (4, 0)}, out)
    check('ListOffsets earliest after DeleteRecords',
          watermarks(b, 'dr') == (4, 10), watermarks(b, 'dr'))
    out = delete('dr', [(0, 11), (1, 1), (5, 0)])
    check('DeleteRecords beyond HW / unknown partition',
          out[0][1] == OFFSET_OUT_OF_RANGE and
          out[1][1] == OFFSET_OUT_OF_RANGE and
          out[5][1] == UNKNOWN_TOPIC_OR_PARTITION, out)
    out = delete('dr', [(0, -1)])
    check('DeleteRecords -1 means the high watermark',
          out == {0: (10, 0)}, out)
    out = delete('nope', [(0, 0)])
    check('DeleteRecords unknown topic',
          out[0][1] == UNKNOWN_TOPIC_OR_PARTITION, out)
    out = delete('dr-compact', [(0, 0)])
    check('DeleteRecords on a compacted topic -> POLICY_VIOLATION',
          out[0][1] == POLICY_VIOLATION, out)
    cons = Consumer({'bootstrap.servers': b, 'group.id': 'dr-read',
                     'auto.offset.reset': 'earliest'})
    cons.assign([TopicPartition('dr', 0, 0)])
    m = cons.poll(5)
    cons.close()
    check('consumer from offset 0 is reset past the deleted records',
          m is None or m.error() is not None or m.offset() >= 10,
          m and (m.offset(), m.error()))
    c.close()


def incremental(c, resources, validate_only=False):
    def res(w, r):
        w.i8(r[0]).s(r[1]).arr(r[2], lambda w, op: w.s(op[0]).i8(
            op[1]).s(op[2]))
    body = W().arr(resources, res).b(validate_only)
    r = c.call(44, 0, body, flexible=False)
    r.i32()
    return r.arr(lambda r: (r.i16(), r.s(), r.i8(), r.s()))


def raw_incremental(s, admin):
    c = Raw(s.bootstrap)
    wait_all(admin.create_topics([NewTopic('inc', 1, 1, config={
        'retention.ms': '1000000'})]))
    SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
    out = incremental(c, [(2, 'inc', [('segment.ms', SET, '120000'),
                                      ('cleanup.policy', APPEND,
                                       'compact')])])
    cfg = describe(admin, 'inc')
    check('IncrementalAlterConfigs SET + APPEND',
          out[0][0] == 0 and cfg['segment.ms'].value == '120000' and
          cfg['cleanup.policy'].value == 'compact,delete' and
          cfg['retention.ms'].value == '1000000',
          (out, cfg['cleanup.policy'].value))
    out = incremental(c, [(2, 'inc', [('cleanup.policy', SUBTRACT,
                                       'delete'),
                                      ('retention.ms', DELETE, None)])])
    cfg = describe(admin, 'inc')
    check('IncrementalAlterConfigs SUBTRACT + DELETE',
          out[0][0] == 0 and cfg['cleanup.policy'].value == 'compact' and
          cfg['retention.ms'].value == '604800000' and
          cfg['retention.ms'].source == DEFAULT_CONFIG,
          (out, cfg['cleanup.policy'].value, cfg['retention.ms'].value))
    out = incremental(c, [(2, 'inc', [('cleanup.policy', SUBTRACT,
                                       'compact')])])
    check('IncrementalAlterConfigs emptying cleanup.policy refused',
          out[0][0] == INVALID_CONFIG, out)
    out = incremental(c, [(2, 'inc', [('retention.ms', APPEND, '5')])])
    check('IncrementalAlterConfigs APPEND on a non-list -> INVALID_CONFIG',
          out[0][0] == INVALID_CONFIG and out[0][1], out)
    out = incremental(c, [(2, 'inc', [('segment.ms', SET, '1')])],
                      validate_only=True)
    check('IncrementalAlterConfigs validate_only changes nothing',
          out[0][0] == 0 and
          describe(admin, 'inc')['segment.ms'].value == '120000', out)
    out = incremental(c, [(2, 'inc', [('segment.ms', SET, '1'),
                                      ('segment.ms', SET, '2')])])
    check('IncrementalAlterConfigs duplicate keys -> INVALID_REQUEST',
          out[0][0] == INVALID_REQUEST, out)
    out = incremental(c, [(2, 'nope', [('segment.ms', SET, '1')]),
                          (4, '1', [('num.partitions', SET, '4')]),
                          (4, '1', []), (4, '9', [])])
    check('IncrementalAlterConfigs unknown topic, static broker configs',
          [o[0] for o in out] == [UNKNOWN_TOPIC_OR_PARTITION,
                                  INVALID_REQUEST, INVALID_REQUEST,
                                  INVALID_REQUEST], out)
    out = incremental(c, [(4, '1', [])])
    check('IncrementalAlterConfigs empty broker change succeeds',
          out[0][0] == 0, out)
    c.close()


def raw_cluster(s, admin):
    c = Raw(s.bootstrap)
    md = admin.list_topics(timeout=10)

    def describe_cluster(v, ops, endpoint=1):
        body = W().b(ops)
        if v >= 1:
            body.i8(endpoint)
        body.tags()
        r = c.call(60, v, body, flexible=True)
        d = dict(throttle=r.i32(), error=r.i16(), msg=r.cs())
        if v >= 1:
            d['endpoint'] = r.i8()
        d['cluster_id'] = r.cs()
        d['controller'] = r.i32()
        d['brokers'] = r.carr(lambda r: (r.i32(), r.cs(), r.i32(), r.cs(),
                                         r.tags())[:4])
        d['ops'] = r.i32()
        r.tags()
        return d
    d = describe_cluster(0, False)
    check('DescribeCluster v0', d['error'] == 0 and
          d['cluster_id'] == md.cluster_id and d['controller'] == 1 and
          d['brokers'] == [(1, '127.0.0.1', s.port, None)] and
          d['ops'] == -2147483648, d)
    d = describe_cluster(1, True)
    check('DescribeCluster v1 with authorized operations',
          d['error'] == 0 and d['endpoint'] == 1 and d['ops'] == 8096, d)
    d = describe_cluster(1, False, endpoint=2)
    check('DescribeCluster for controllers -> MISMATCHED_ENDPOINT_TYPE',
          d['error'] == MISMATCHED_ENDPOINT_TYPE, d)
    c.close()


def raw_log_dirs(s, admin):
    c = Raw(s.bootstrap)
    wait_all(admin.create_topics([NewTopic('ld', 2, 1)]))
    produce(s.bootstrap, 'ld', 20)
    body = W().carr(None, None).tags()
    r = c.call(35, 4, body, flexible=True)
    r.i32()
    err = r.i16()

    def result(r):
        d = dict(error=r.i16(), dir=r.cs())
        d['topics'] = {t[0]: t[1] for t in r.carr(lambda r: (
            r.cs(), {p[0]: p[1:3] for p in r.carr(lambda r: (
                r.i32(), r.i64(), r.i64(), r.b(), r.tags()))}, r.tags()))}
        d['total'] = r.i64()
        d['usable'] = r.i64()
        r.tags()
        return d
    res = r.carr(result)
    d = res[0]
    check('DescribeLogDirs v4: one dir, sizes, statvfs',
          err == 0 and len(res) == 1 and d['dir'].endswith('/topics') and
          d['topics']['ld'][0][0] > 0 and d['topics']['ld'][0][1] == 0 and
          1 in d['topics']['ld'] and d['total'] > d['usable'] > 0,
          {k: v for k, v in d.items() if k != 'topics'})
    body = W().arr([('ld', [1, 7]), ('nope', [0])], lambda w, t: w.s(
        t[0]).arr(t[1], lambda w, p: w.i32(p)))
    r = c.call(35, 1, body, flexible=False)
    r.i32()
    res = r.arr(lambda r: (r.i16(), r.s(), r.arr(lambda r: (r.s(), r.arr(
        lambda r: (r.i32(), r.i64(), r.i64(), r.b()))))))
    topics = res[0][2]
    check('DescribeLogDirs v1 filtered: existing partitions only',
          len(topics) == 1 and topics[0][0] == 'ld' and
          [p[0] for p in topics[0][1]] == [1], res)
    c.close()


def raw_dtp(s, admin):
    c = Raw(s.bootstrap)
    wait_all(admin.create_topics([NewTopic('dtp-a', 5, 1),
                                  NewTopic('dtp-b', 3, 1)]))

    def dtp(names, limit, cursor=None):
        body = W().carr(names, lambda w, n: w.cs(n).tags()).i32(limit)
        if cursor is None:
            body.i8(-1)
        else:
            body.i8(1).cs(cursor[0]).i32(cursor[1]).tags()
        body.tags()
        r = c.call(75, 0, body, flexible=True)
        r.i32()

        def topic(r):
            d = dict(error=r.i16(), name=r.cs(), id=r.uuid(),
                     internal=r.b())
            d['parts'] = r.carr(lambda r: (r.i16(), r.i32(), r.i32(),
                                           r.i32(), r.carr(R32),
                                           r.carr(R32), r.carr(R32),
                                           r.carr(R32), r.carr(R32),
                                           r.tags())[:6])
            d['ops'] = r.i32()
            r.tags()
            return d
        topics = r.carr(topic)
        cur = None
        if r.i8() >= 0:
            cur = (r.cs(), r.i32())
            r.tags()
        r.tags()
        return topics, cur

    def R32(r):
        return r.i32()
    pages, cur, seen = 0, None, []
    while pages < 10:
        topics, cur = dtp(['dtp-b', 'dtp-a', 'dtp-zz'], 3, cur)
        for t in topics:
            seen.append((t['name'], t['error'],
                         [p[1] for p in t['parts']]))
        pages += 1
        if cur is None:
            break
    check('DescribeTopicPartitions pages of 3 partitions',
          pages == 3 and seen == [
              ('dtp-a', 0, [0, 1, 2]), ('dtp-a', 0, [3, 4]),
              ('dtp-b', 0, [0]), ('dtp-b', 0, [1, 2]),
              ('dtp-zz', UNKNOWN_TOPIC_OR_PARTITION, [])], seen)
    topics, cur = dtp(['dtp-a'], 2000)
    t = topics[0]
    check('DescribeTopicPartitions details',
          cur is None and t['error'] == 0 and t['id'] != uuid.UUID(int=0)
          and t['parts'][0][2] == 1 and t['parts'][0][4] == [1] and
          t['parts'][0][5] == [1] and t['ops'] != -2147483648, t)
    topics, cur = dtp([], 2000)
    names = [t['name'] for t in topics]
    check('DescribeTopicPartitions all topics, sorted',
          names == sorted(names) and 'dtp-a' in names and cur is None,
          names)
    topics, cur = dtp(['dtp-a'], 10, ('dtp-b', 0))
    check('DescribeTopicPartitions cursor outside the list',
          topics[0]['error'] == INVALID_REQUEST, topics)
    c.close()


# ---- deletion, restart ------------------------------------------------------

def part_dirs(s, topic):
    d = os.path.join(s.data_dir, 'topics')
    return sorted(n for n in os.listdir(d)
                  if n.rsplit('-', 1)[0] == topic or
                  n.startswith(topic + '-') and n.endswith('-delete'))


def deletion_and_restart(s):
    b = s.bootstrap
    admin = AdminClient({'bootstrap.servers': b})
    wait_all(admin.create_topics([NewTopic('gone', 3, 1),
                                  NewTopic('kept', 1, 1, config={
                                      'retention.ms': '4242000',
                                      'cleanup.policy': 'compact'})]))
    produce(b, 'gone', 50)
    check('partition directories exist', len(part_dirs(s, 'gone')) == 3,
          part_dirs(s, 'gone'))
    r = wait_all(admin.delete_topics(['gone', 'never']))
    check('ck delete_topics', r == {
        'gone': None, 'never': KafkaError.UNKNOWN_TOPIC_OR_PART}, r)
    md = admin.list_topics(timeout=10)
    check('ck list_topics: deleted topic gone', 'gone' not in md.topics)
    kcat_check('kcat -L after delete', b, {'gone': None, 'kept': 1})
    r = wait_all(admin.delete_topics(['gone']))
    check('ck delete again -> UNKNOWN_TOPIC_OR_PART',
          r == {'gone': KafkaError.UNKNOWN_TOPIC_OR_PART}, r)
    # Re-created before a restart: while the old partition logs are being
    # deleted (a worker thread) the name answers TOPIC_ALREADY_EXISTS, as
    # Kafka does for a topic marked for deletion; clients retry. Once
    # created again the topic starts empty at offset 0.
    wait_all(admin.create_topics([NewTopic('again', 1, 1)]))
    produce(b, 'again', 7)
    wait_all(admin.delete_topics(['again']))
    deadline = time.time() + 10
    while True:
        r = wait_all(admin.create_topics([NewTopic('again', 1, 1)]))
        if r != {'again': KafkaError.TOPIC_ALREADY_EXISTS} or \
                time.time() > deadline:
            break
        time.sleep(0.05)
    lo, hi = watermarks(b, 'again')
    check('re-created before restart: starts empty at 0',
          r == {'again': None} and (lo, hi) == (0, 0), (r, lo, hi))
    ok = produce(b, 'again', 2)
    lo2, hi2 = watermarks(b, 'again')
    check('re-created before restart takes records',
          ok and (lo2, hi2) == (0, 2), (lo2, hi2))

    s.stop()
    s.start()
    admin = AdminClient({'bootstrap.servers': s.bootstrap})
    deadline = time.time() + 10
    while part_dirs(s, 'gone') and time.time() < deadline:
        time.sleep(0.1)
    check('deleted topic data removed from disk after restart',
          part_dirs(s, 'gone') == [], part_dirs(s, 'gone'))
    cfg = describe(admin, 'kept')
    check('configs survive a restart',
          cfg['retention.ms'].value == '4242000' and
          cfg['retention.ms'].source == TOPIC_CONFIG and
          cfg['cleanup.policy'].value == 'compact', cfg['retention.ms'])
    cfg = describe(admin, 'ck-cfg')
    check('altered configs survive a restart',
          cfg['retention.ms'].value == '7200000' and
          cfg['cleanup.policy'].value == 'compact')
    md = admin.list_topics(timeout=10)
    check('grown partition counts survive a restart',
          len(md.topics['ck-plain'].partitions) == 4 and 'gone' not in
          md.topics)
    r = wait_all(admin.create_topics([NewTopic('gone', 2, 1)]))
    check('re-create a deleted name', r == {'gone': None}, r)
    lo, hi = watermarks(s.bootstrap, 'gone')
    check('re-created topic starts empty', (lo, hi) == (0, 0), (lo, hi))
    ok = produce(s.bootstrap, 'gone', 3)
    check('re-created topic takes records',
          ok and watermarks(s.bootstrap, 'gone') == (0, 3))
    kcat_check('kcat -L after restart', s.bootstrap, {'gone': 2,
                                                      'ck-plain': 4})


def main():
    binary = sys.argv[1]
    with Server(binary, toml='num.partitions = 1') as s:
        admin = AdminClient({'bootstrap.servers': s.bootstrap})
        ck_create(s, admin)
        ck_configs(s, admin)
        ck_partitions(s, admin)
        kp_admin(s)
        raw_create_delete(s)
        raw_delete_records(s, admin)
        raw_incremental(s, admin)
        raw_cluster(s, admin)
        raw_log_dirs(s, admin)
        raw_dtp(s, admin)
        deletion_and_restart(s)
        check('server still alive', s.alive())
        rc = s.stop()
        check('graceful shutdown exits 0 (sanitizers clean)', rc == 0,
              s.log_tail())
    finish()


if __name__ == '__main__':
    main()
