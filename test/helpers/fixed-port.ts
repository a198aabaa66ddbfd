/**
 * A port free now, for a test that restarts Weir on the same address (kill loops): each restarted
 * Weir listens where the killed one did, so clients reconnect to it as to a restarted broker. It
 * is taken below the kernel's ephemeral range, so that while Weir is down no other test's
 * listener on port 0, nor any client's connection, can be given it.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export async function freeFixedPort(): Promise<number> {
  const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = ephemeralLow - 1 - Math.floor(Math.random() * Math.min(10_000, ephemeralLow - 1025));
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
  throw new Error(`no free port below ${ephemeralLow} after 50 tries`);
}
