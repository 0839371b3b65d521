// kafkajs driver for capture.py: node kafkajs_driver.js MODE BOOTSTRAP (NODE_PATH -> kafkajs)
const { Kafka, CompressionTypes, logLevel } = require('kafkajs')

const [mode, bs] = process.argv.slice(2)
const TOPIC = 'golden-kafkajs'
const kafka = new Kafka({ clientId: 'chronik-golden-kafkajs', brokers: [bs], logLevel: logLevel.WARN,
  retry: { retries: 2 } })

async function main () {
  if (mode === 'admin') {
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 },
      { topic: 'golden-kafkajs-admin', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] })
    console.log(JSON.stringify(await admin.fetchTopicMetadata({ topics: [TOPIC] })))
    await admin.deleteTopics({ topics: ['golden-kafkajs-admin'] })
    await admin.disconnect()
  } else if (mode === 'producer') {
    const producer = kafka.producer()
    await producer.connect()
    for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
      await producer.send({ topic: TOPIC, compression, messages: [
        { key: 'key-1', value: 'value one', headers: { 'hdr-a': 'alpha' }, timestamp: '1700000000000' },
        { key: 'key-2', value: 'value two', headers: { 'hdr-a': 'alpha', 'hdr-b': 'beta' } },
        { value: 'no key', partition: 0 }] })
    }
    await producer.disconnect()
  } else if (mode === 'consumer') {
    const consumer = kafka.consumer({ groupId: 'kafkajs-group', heartbeatInterval: 1000 })
    await consumer.connect()
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
    let n = 0
    await consumer.run({ eachMessage: async () => { n++ } })
    await new Promise(resolve => setTimeout(resolve, 5000))
    console.log('consumed', n)
    await consumer.disconnect()
  }
}

main().then(() => process.exit(0), e => { console.error(e); process.exit(1) })
