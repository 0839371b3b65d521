// node-rdkafka driver for capture.py (node-rdkafka builds its bundled, recent librdkafka):
//   NODE_PATH=<dir>/node_modules node node_rdkafka_driver.js MODE BOOTSTRAP
const Kafka = require('node-rdkafka')

const [mode, bs] = process.argv.slice(2)
const TOPIC = 'golden-node-rdkafka'
const base = { 'metadata.broker.list': bs, 'client.id': 'chronik-golden-node-rdkafka' }
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const cb2p = fn => new Promise((resolve, reject) => fn((err, res) => err ? reject(err) : resolve(res)))

async function produce (codec, idempotent) {
  const p = new Kafka.Producer({ ...base, 'compression.codec': codec, 'linger.ms': 20,
    'enable.idempotence': idempotent, dr_cb: true })
  await cb2p(cb => p.connect({}, cb))
  for (let i = 0; i < 3; i++) {
    p.produce(TOPIC, null, Buffer.from(`value ${i} (${codec})`), `key-${i}`, 1700000000000 + i,
      null, [{ 'hdr-a': 'alpha' }, { 'hdr-n': String(i) }])
  }
  p.produce(TOPIC, 0, Buffer.from('no key'), null, Date.now())
  await cb2p(cb => p.flush(10000, cb))
  await cb2p(cb => p.disconnect(cb))
}

async function main () {
  if (mode === 'admin') {
    const a = Kafka.AdminClient.create({ ...base })
    await cb2p(cb => a.createTopic({ topic: 'golden-nrd-admin', num_partitions: 2, replication_factor: 1,
      config: { 'cleanup.policy': 'compact' } }, 5000, cb))
    await cb2p(cb => a.createPartitions('golden-nrd-admin', 4, 5000, cb))
    await cb2p(cb => a.deleteTopic('golden-nrd-admin', 5000, cb))
    a.disconnect()
  } else if (mode === 'producer') {
    await produce('zstd', true)
    await produce('gzip', false)
  } else if (mode === 'consumer') {
    const c = new Kafka.KafkaConsumer({ ...base, 'group.id': 'node-rdkafka-group', 'enable.auto.commit': false },
      { 'auto.offset.reset': 'earliest' })
    await cb2p(cb => c.connect({}, cb))
    c.subscribe([TOPIC])
    let n = 0
    for (let i = 0; i < 10; i++) {
      const msgs = await cb2p(cb => c.consume(10, cb))
      n += msgs.length
      await sleep(300)
    }
    console.log('consumed', n)
    if (n) c.commitSync()
    const md = await cb2p(cb => c.getMetadata({ topic: TOPIC, timeout: 5000 }, cb))
    console.log(JSON.stringify(md.topics))
    await cb2p(cb => c.disconnect(cb))
  }
}

main().then(() => process.exit(0), e => { console.error(e); process.exit(1) })
