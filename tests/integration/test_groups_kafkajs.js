// SPDX-License-Identifier: Apache-2.0
// kafkajs consumer groups against the real server: two consumers split a
// 6-partition topic, every record consumed once, DescribeGroups says
// Stable, committed offsets are fetched back. Run by run_kafkajs.py, which
// skips (fails under CI) without node or kafkajs.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

let Kafka, logLevel;
try {
  ({ Kafka, logLevel } = require(path.join(__dirname, 'node_modules',
    'kafkajs')));
} catch (e) {
  // run_kafkajs.py checks this first; under CI a missing kafkajs fails.
  const ci = !['', '0', 'false', 'no'].includes(
    (process.env.CI || '').toLowerCase());
  console.log((ci ? 'not ok - ' : '# SKIP ') + 'kafkajs is not installed ' +
    'in tests/integration/node_modules (scripts/setup.sh test)');
  process.exit(ci ? 1 : 77);
}

const failed = [];
function check(name, cond, detail) {
  console.log((cond ? 'ok - ' : 'not ok - ') + name);
  if (!cond) {
    failed.push(name);
    if (detail !== undefined) console.log('# ' + JSON.stringify(detail));
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startServer(bin) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-js-'));
  const cfg = path.join(tmp, 'chronik.toml');
  fs.writeFileSync(cfg, `data_dir = "${tmp}/data"\nhttp_port = 0\n` +
    'group.initial.rebalance.delay.ms = 0\n[bind]\nkafka = "127.0.0.1:0"\n');
  const logPath = path.join(tmp, 'server.log');
  const log = fs.openSync(logPath, 'a');
  const env = Object.fromEntries(Object.entries(process.env)
    .filter(([k]) => !k.startsWith('CHRONIK_')));
  const proc = spawn(bin, ['start', '--config', cfg],
    { stdio: ['ignore', log, log], env });
  for (let i = 0; i < 600; i++) {
    const m = /kafka listening on 127\.0\.0\.1:(\d+)/.exec(
      fs.readFileSync(logPath, 'utf8'));
    if (m) return { proc, tmp, logPath, port: Number(m[1]) };
    await sleep(50);
  }
  proc.kill('SIGKILL');
  throw new Error('server not ready: ' + fs.readFileSync(logPath, 'utf8'));
}

(async () => {
  const s = await startServer(path.resolve(process.argv[2]));
  const kafka = new Kafka({ clientId: 'kjs', brokers: ['127.0.0.1:' + s.port],
    logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const consumers = [];
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'j6', numPartitions: 6 }] });
    const p = kafka.producer();
    await p.connect();
    const msgs = [];
    for (let i = 0; i < 60; i++) msgs.push({ value: String(i), partition: i % 6 });
    await p.send({ topic: 'j6', messages: msgs });
    await p.disconnect();
    const got = [];
    const assigned = {};
    for (const name of ['a', 'b']) {
      const c = kafka.consumer({ groupId: 'jg', sessionTimeout: 6000,
        heartbeatInterval: 500 });
      c.on(c.events.GROUP_JOIN, (e) => {
        assigned[name] = (e.payload.memberAssignment.j6 || []).slice().sort();
      });
      await c.connect();
      await c.subscribe({ topic: 'j6', fromBeginning: true });
      await c.run({ eachMessage: async ({ message }) => {
        got.push(Number(message.value));
      } });
      consumers.push(c);
    }
    const all = () => [].concat(...Object.values(assigned)).sort((x, y) => x - y);
    for (let t = 0; t < 150; t++) {
      if (Object.keys(assigned).length === 2 && all().join() === '0,1,2,3,4,5' &&
          assigned.a.length && assigned.b.length && got.length >= 60) break;
      await sleep(200);
    }
    check('kafkajs: two consumers split 6 partitions, no overlap',
      all().join() === '0,1,2,3,4,5' && assigned.a.length > 0 &&
      assigned.b.length > 0, assigned);
    check('kafkajs: every record consumed once',
      got.length === 60 && new Set(got).size === 60, got.length);
    const d = await admin.describeGroups(['jg']);
    check('kafkajs: DescribeGroups Stable with 2 members',
      d.groups[0].state === 'Stable' && d.groups[0].members.length === 2, d);
    for (const c of consumers.splice(0)) await c.disconnect();
    const offs = await admin.fetchOffsets({ groupId: 'jg', topics: ['j6'] });
    check('kafkajs: committed offsets at the ends',
      offs[0].partitions.every((x) => x.offset === '10'), offs);
    const l = await admin.listGroups();
    check('kafkajs: ListGroups has the group',
      l.groups.some((g) => g.groupId === 'jg'), l);
  } catch (e) {
    check('kafkajs: no exception', false, String(e && e.stack));
  } finally {
    for (const c of consumers) await c.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    s.proc.kill('SIGTERM');
    await new Promise((r) => {
      const t = setTimeout(() => { s.proc.kill('SIGKILL'); r(); }, 20000);
      s.proc.on('exit', () => { clearTimeout(t); r(); });
    });
    if (!failed.length) fs.rmSync(s.tmp, { recursive: true, force: true });
  }
  console.log(failed.length ? '# FAILED: ' + failed.join(', ') : '# all passed');
  process.exit(failed.length ? 1 : 0);
})();
