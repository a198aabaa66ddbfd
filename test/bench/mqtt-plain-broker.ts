/**
 * The baseline of `npm run bench:mqtt`: plain aedes with its in-memory persistence
 * (aedes-persistence), no log, on a TCP listener on port 0 with TCP_NODELAY like Weir's.
 * Prints `ready <port>`; stops on SIGTERM.
 */
import net from 'node:net';
import { Aedes } from 'aedes';

const broker = new Aedes();
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
