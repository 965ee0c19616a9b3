// RabbitMQ Streams as a comparison point: publishes COUNT messages of SIZE
// bytes to a fresh stream with publisher confirms (the figure counts a message
// once the broker confirmed it), then one consumer reads them back from the
// first offset. Client: rabbitmq-stream-js-client (npm), the stream protocol's
// Node.js client; the client runs on one Node.js thread, which is what limits
// it on this machine (see bench/peers/README.md).
// usage: node streams_bench.js PORT SIZE COUNT
const rabbit = require("rabbitmq-stream-js-client");
// Debian 12's RabbitMQ is 3.10; the client's first request after OPEN,
// ExchangeCommandVersions (key 27), exists from 3.11 on and 3.10 closes the
// connection on it. Skip it: every command used here is version 1, which is
// what an empty answer means to the client.
const { Connection } = require("rabbitmq-stream-js-client/dist/connection");
Connection.prototype.exchangeCommandVersions = async function () {
  return { key: 0, ok: true, serverDeclaredVersions: [] };
};

async function main() {
  const [port, size, count] = process.argv.slice(2).map(Number);
  const client = await rabbit.connect({
    hostname: "127.0.0.1", port, username: "guest", password: "guest", vhost: "/",
  });
  const stream = `sentry-bench-${Date.now()}`;
  await client.createStream({ stream });
  const publisher = await client.declarePublisher({ stream });
  const payload = Buffer.alloc(size, "x");
  let confirmed = 0;
  let resolveAll;
  const allConfirmed = new Promise((r) => (resolveAll = r));
  publisher.on("publish_confirm", (err, ids) => {
    if (err) throw new Error(`publish error ${err}`);
    confirmed += ids.length;
    if (confirmed >= count) resolveAll();
  });
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await publisher.send(payload);
  await publisher.flush();
  await allConfirmed;
  const pubSecs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`publish: ${count} messages of ${size} bytes confirmed in ${pubSecs.toFixed(2)} s: ${(count / pubSecs).toFixed(0)} msg/s`);

  let seen = 0;
  let resolveRead;
  const allRead = new Promise((r) => (resolveRead = r));
  t0 = process.hrtime.bigint();
  await client.declareConsumer({ stream, offset: rabbit.Offset.first() }, (m) => {
    if (m.content.length !== size) throw new Error("short message");
    if (++seen === count) resolveRead();
  });
  await allRead;
  const subSecs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`consume: ${count} messages in ${subSecs.toFixed(2)} s: ${(count / subSecs).toFixed(0)} msg/s`);
  await client.deleteStream({ stream });
  await client.close();
}

main().then(() => process.exit(0)).catch((e) => { console.error("ERROR", e); process.exit(1); });
