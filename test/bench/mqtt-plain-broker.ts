/**
 * The baseline of `npm run bench:mqtt`: plain aedes with its in-memory persistence
 * (aedes-persistence), no log, on a TCP listener on port 0 with TCP_NODELAY like Weir's.
 * Prints `ready <port>`; stops on SIGTERM. PLAIN_AEDES_TUNED=1 gives it the speed-ups Weir gives
 * the aedes it embeds (bridge/mqtt/speedups/) and Weir's message bus (bridge/mqtt/local-emitter.ts)
 * instead of aedes's default mqemitter (see BENCH_AEDES_TUNED).
 */
import net from 'node:net';
import { LocalEmitter } from '../../bridge/mqtt/local-emitter.js';
import { applyMqttSpeedups } from '../../bridge/mqtt/speedups/index.js';

/** aedes's default concurrency for its message bus. */
const MQ_CONCURRENCY = 100;
const tuned = process.env['PLAIN_AEDES_TUNED'] === '1';
if (tuned) {
  // Before aedes loads mqtt-packet, as the weir executable does.
  for (const { name, skipped } of applyMqttSpeedups()) {
    if (skipped !== undefined) process.stderr.write(`speed-up ${name} skipped: ${skipped.reason}\n`);
  }
}
const { Aedes } = await import('aedes');
const broker = new Aedes(tuned ? { mq: new LocalEmitter(MQ_CONCURRENCY) } : {});
await broker.listen();
const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  broker.handle(socket);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as net.AddressInfo;
  process.stdout.write(`ready ${address.port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  broker.close(() => process.exitCode = 0);
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), 2000).unref();
});
