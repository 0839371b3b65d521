// SPDX-License-Identifier: Apache-2.0
// kafkajs against the real chronik-server: create a topic, produce keyed
// messages with headers (plain and gzip) over 3 partitions, ListOffsets,
// then read everything back with kafkajs's Fetch layer and with its group
// consumer, comparing every field.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');

let kafkajs;
try {
  kafkajs = require(path.join(__dirname, 'node_modules', 'kafkajs'));
} catch (e) {
  // run_kafkajs.py checks this first; under CI a missing kafkajs fails.
  const ci = !['', '0', 'false', 'no'].includes(
    (process.env.CI || '').toLowerCase());
  console.log((ci ? 'not ok - ' : '# SKIP ') + 'kafkajs is not installed ' +
    'in tests/integration/node_modules (scripts/setup.sh test)');
  process.exit(ci ? 1 : 77);
}

const failures = [];
function check(name, cond, detail) {
  console.log((cond ? 'ok - ' : 'not ok - ') + name);
  if (!cond) {
    failures.push(name);
    if (detail !== undefined) console.log('# ' + JSON.stringify(detail));
  }
}

function httpStatus(port, p) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, timeout: 2000 },
      (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', () => resolve(0));
  });
}

async function startServer(bin) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-js-'));
  const cfg = path.join(tmp, 'chronik.toml');
  fs.writeFileSync(cfg, `data_dir = "${tmp}/data"\nhttp_port = 0\n` +
    'group.initial.rebalance.delay.ms = 0\n[bind]\nkafka = "127.0.0.1:0"\n');
  const logPath = path.join(tmp, 'server.log');
  const out = fs.openSync(logPath, 'w');
  const env = Object.fromEntries(Object.entries(process.env)
    .filter(([k]) => !k.startsWith('CHRONIK_')));
  const proc = spawn(bin, ['start', '--config', cfg],
    { stdio: ['ignore', out, out], env });
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    const text = fs.readFileSync(logPath, 'utf8');
    const m = text.match(/kafka listening on 127\.0\.0\.1:(\d+)/);
    const h = text.match(/HTTP listening on \S+ port (\d+)/);
    if (m && h && await httpStatus(+h[1], '/ready') === 200)
      return { proc, tmp, logPath, port: +m[1] };
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server did not start:\n' + fs.readFileSync(logPath));
}

function record(partition, m) {
  return { partition, offset: Number(m.offset),
    key: m.key.toString(), value: m.value.toString(),
    headers: Object.fromEntries(Object.entries(m.headers)
      .map(([k, v]) => [k, v.toString()])),
    timestamp: m.timestamp };
}

// Every produced message exactly once, each field as sent.
function checkFields(how, got, sent, n) {
  check(how + ': consumed every message', got.length === n, got.length);
  const per = [[], [], []];
  for (const s of sent) per[s.partition].push(s);
  const seen = new Set();
  let ok = true;
  for (const g of got) {
    const w = per[g.partition][g.offset];
    const id = g.partition + ':' + g.offset;
    if (!w || seen.has(id) || w.key !== g.key || w.value !== g.value ||
        w.timestamp !== g.timestamp ||
        JSON.stringify(w.headers) !== JSON.stringify(g.headers)) {
      ok = false;
      check(how + ': message fields', false, { got: g, want: w });
      break;
    }
    seen.add(id);
  }
  check(how + ': key, value, headers, timestamp, partition, offset match',
    ok);
}

async function main() {
  const srv = await startServer(process.argv[2]);
  const kafka = new kafkajs.Kafka({
    clientId: 'chronik-it', brokers: ['127.0.0.1:' + srv.port],
    logLevel: kafkajs.logLevel.NOTHING, retry: { retries: 3 },
  });
  const admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({
    topics: [{ topic: 'js3', numPartitions: 3 }], waitForLeaders: true });
  check('createTopics', created === true);
  const md = await admin.fetchTopicMetadata({ topics: ['js3'] });
  check('metadata: 3 partitions led by node 1',
    md.topics[0].partitions.length === 3 &&
    md.topics[0].partitions.every((p) => p.leader === 1), md);

  const producer = kafka.producer();
  await producer.connect();
  const N = 300;
  const sent = [];
  for (let i = 0; i < N; i++) {
    sent.push({ partition: i % 3, key: 'k' + i, value: 'v' + i + '-'.repeat(i % 13),
      headers: { n: String(i), src: 'kafkajs' },
      timestamp: String(1700000000000 + i) });
  }
  for (let i = 0; i < N; i += 50) {
    await producer.send({ topic: 'js3', acks: -1,
      compression: i % 100 ? kafkajs.CompressionTypes.GZIP
        : kafkajs.CompressionTypes.None,
      messages: sent.slice(i, i + 50) });
  }
  check('produce acknowledged', true);
  const offs = await admin.fetchTopicOffsets('js3');
  check('ListOffsets: high watermarks sum to N',
    offs.reduce((a, o) => a + Number(o.high), 0) === N, offs);
  const byTime = await admin.fetchTopicOffsetsByTimestamp('js3',
    1700000000000 + 150);
  check('ListOffsets by timestamp', byTime.every((o) => Number(o.offset) === 50),
    byTime);

  // Fetch through kafkajs's own cluster/broker layer (the code path its
  // consumer uses for Fetch, including record batch decoding), then with
  // its consumer (group APIs) below.
  const got = [];
  const kjs = path.join(__dirname, 'node_modules', 'kafkajs', 'src');
  const Cluster = require(path.join(kjs, 'cluster'));
  const { createLogger, LEVELS } = require(path.join(kjs, 'loggers'));
  const c = new Cluster({
    logger: createLogger({ level: LEVELS.NOTHING,
      logCreator: () => () => {} }),
    brokers: ['127.0.0.1:' + srv.port], clientId: 'chronik-it-fetch',
    socketFactory: require(path.join(kjs, 'network', 'socketFactory'))(),
    connectionTimeout: 5000, requestTimeout: 10000,
    retry: { retries: 3 },
  });
  await c.connect();
  await c.refreshMetadata();
  const leader = await c.findBroker({ nodeId: '1' });
  const offsets = [0, 0, 0];
  const deadline = Date.now() + 20000;
  while (got.length < N && Date.now() < deadline) {
    const resp = await leader.fetch({
      replicaId: -1, isolationLevel: 0, maxWaitTime: 500, minBytes: 1,
      maxBytes: 1 << 20,
      topics: [{ topic: 'js3', partitions: [0, 1, 2].map((p) => ({
        partition: p, fetchOffset: String(offsets[p]),
        maxBytes: 1 << 20 })) }],
    });
    for (const t of resp.responses) {
      for (const p of t.partitions) {
        for (const m of p.messages) {
          if (Number(m.offset) < offsets[p.partition]) continue;
          got.push(record(p.partition, m));
          offsets[p.partition] = Number(m.offset) + 1;
        }
      }
    }
  }
  await c.disconnect();
  checkFields('fetch', got, sent, N);

  // The same through kafkajs's group consumer.
  const viaConsumer = [];
  const consumer = kafka.consumer({ groupId: 'js-fields',
    sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'js3', fromBeginning: true });
  await consumer.run({ eachMessage: async ({ partition, message: m }) => {
    viaConsumer.push(record(partition, m));
  } });
  const until = Date.now() + 30000;
  while (viaConsumer.length < N && Date.now() < until)
    await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();
  checkFields('consumer', viaConsumer, sent, N);
  await producer.disconnect();
  await admin.disconnect();

  srv.proc.kill('SIGTERM');
  const code = await new Promise((r) => srv.proc.on('exit', r));
  check('graceful stop', code === 0, code);
  if (failures.length === 0) fs.rmSync(srv.tmp, { recursive: true });
}

const timer = setTimeout(() => {
  console.log('not ok - timed out'); process.exit(1);
}, 100000);
main().then(() => {
  clearTimeout(timer);
  process.exit(failures.length ? 1 : 0);
}).catch((e) => {
  console.log('not ok - ' + (e && e.stack || e));
  process.exit(1);
});
