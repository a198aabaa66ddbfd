/**
 * The baseline of `npm run bench:mqtt`: plain aedes with its in-memory persistence
 * (aedes-persistence), no log, on a TCP listener on port 0 with TCP_NODELAY like Weir's.
 * Prints `ready <port>`; stops on SIGTERM. PLAIN_AEDES_LOCAL_EMITTER=1 gives it Weir's message bus
 * (bridge/mqtt/local-emitter.ts) instead of aedes's default mqemitter (see BENCH_AEDES_TUNED).
 */
import net from 'node:net';
import { Aedes } from 'aedes';
import { LocalEmitter } from '../../bridge/mqtt/local-emitter.js';

/** aedes's default concurrency for its message bus. */
const MQ_CONCURRENCY = 100;
const broker = new Aedes(process.env['PLAIN_AEDES_LOCAL_EMITTER'] === '1' ? { mq: new LocalEmitter(MQ_CONCURRENCY) } : {});
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
