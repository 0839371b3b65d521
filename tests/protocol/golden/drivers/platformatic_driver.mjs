// @platformatic/kafka driver for capture.py:
//   PLATFORMATIC_KAFKA_DIR=<dir with node_modules> node platformatic_driver.mjs MODE BOOTSTRAP
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const dir = process.env.PLATFORMATIC_KAFKA_DIR
const k = await import(pathToFileURL(join(dir, 'node_modules/@platformatic/kafka/dist/index.js')).href)
const [mode, bs] = process.argv.slice(2)
const TOPIC = 'golden-platformatic'
const base = { clientId: 'chronik-golden-platformatic', bootstrapBrokers: [bs], retries: 1, timeout: 5000 }
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

async function main () {
  if (mode === 'admin') {
    const admin = new k.Admin(base)
    await admin.createTopics({ topics: [TOPIC], partitions: 3, replicas: 1 })
    await admin.createTopics({ topics: ['golden-platformatic-admin'], partitions: 1, replicas: 1,
      configs: [{ name: 'cleanup.policy', value: 'compact' }] })
    console.log(JSON.stringify(await admin.metadata({ topics: [TOPIC] }), (key, v) => typeof v === 'bigint' ? v.toString() : v))
    console.log(await admin.describeConfigs({ resources: [{ resourceType: k.ConfigResourceTypes.TOPIC, resourceName: TOPIC }] }))
    await admin.deleteTopics({ topics: ['golden-platformatic-admin'] })
    await admin.close()
  } else if (mode === 'producer') {
    // zstd needs zlib.zstdCompressSync (node >= 22.15), so it is not in the list on node 20
    for (const compression of ['none', 'gzip', 'snappy', 'lz4']) {
      const producer = new k.Producer({ ...base, serializers: k.stringSerializers, compression,
        idempotent: compression === 'lz4' })
      try {
        await producer.send({ messages: [
          { topic: TOPIC, key: 'key-1', value: 'value one (' + compression + ')', headers: { 'hdr-a': 'alpha' }, timestamp: 1700000000000n },
          { topic: TOPIC, key: 'key-2', value: 'value two', headers: { 'hdr-a': 'alpha', 'hdr-b': 'beta' } },
          { topic: TOPIC, value: 'no key', partition: 0 }] })
      } catch (e) { console.error(compression, e.message) }
      await producer.close()
    }
  } else if (mode === 'consumer' || mode === 'consumer-848') {
    const opts = { ...base, groupId: 'platformatic-group', deserializers: k.stringDeserializers,
      sessionTimeout: 10000, heartbeatInterval: 1000 }
    if (mode === 'consumer-848') { opts.groupProtocol = 'consumer'; opts.groupId = 'platformatic-848' }
    const consumer = new k.Consumer(opts)
    // the KIP-848 run starts from committed offsets (OffsetFetch), falling back to earliest
    const mode848 = mode === 'consumer-848'
    const stream = await consumer.consume({ topics: [TOPIC], autocommit: true,
      mode: mode848 ? k.MessagesStreamModes.COMMITTED : k.MessagesStreamModes.EARLIEST,
      fallbackMode: k.MessagesStreamFallbackModes.EARLIEST })
    let n = 0
    stream.on('data', () => { n++ })
    await sleep(4000)
    console.log('consumed', n)
    await stream.close()
    const admin = new k.Admin(base)
    console.log(await admin.listGroups())
    await admin.close()
    await consumer.close()
  }
}

main().then(() => process.exit(0), e => { console.error(e); process.exit(1) })
