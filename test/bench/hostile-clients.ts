/**
 * Hostile clients beside a benchmark's normal load (`BENCH_HOSTILE=1` of bench:mqtt and
 * bench:kafka), in their own process so their CPU is theirs and shows (it should be ~0):
 *
 * - `mqtt-subscriber`: raw sockets that CONNECT (MQTT 3.1.1, clean session, keep-alive 0),
 *   SUBSCRIBE to `#` at QoS 0, and once the SUBACK is in never read again (the socket is paused:
 *   Node stops reading once 16 KiB wait in the stream, then the kernel buffers fill, then the
 *   broker's). Every PUBLISH of the load matches `#`, so each of them is owed every message.
 * - `mqtt-reader`: the control for the above: the same subscribers, but they keep reading (and
 *   discard what they read), so one can tell the cost of not reading from the cost of fan-out.
 * - `kafka-trickle`: raw sockets that send a 4-byte Kafka size prefix of 1 MiB, then one byte
 *   every `intervalMs` (10 ms) for the whole run. When the broker closes one (its
 *   `kafka.request_read_timeout_ms`), it reconnects and starts again.
 *
 * argv[2] is a JSON HostileSpec. Prints `ready` once every client is set up (SUBACK read; prefix
 * written), then on `stop` (or end of stdin) prints one JSON HostileResult line and exits.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface HostileSpec {
  kind: 'mqtt-subscriber' | 'mqtt-reader' | 'kafka-trickle';
  host?: string;
  port: number;
  count: number;
  /** kafka-trickle: declared request size (default 1 MiB) and ms between bytes (default 10). */
  sizePrefix?: number;
  intervalMs?: number;
}

export interface HostileResult {
  kind: HostileSpec['kind'];
  count: number;
  /** Connections the broker closed while they were up (each is reconnected for kafka-trickle). */
  closedByBroker: number;
  /** Bytes written after setup (kafka-trickle: trickled bytes; mqtt-subscriber: 0). */
  bytesSent: number;
  /** MQTT: bytes read (mqtt-subscriber: CONNACK + SUBACK only, then it stops reading). */
  bytesRead: number;
  seconds: number;
  /** CPU of this process from `ready` to `stop`, as a share of one core. */
  cpu: number;
}

function str(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

function packet(first: number, body: Buffer): Buffer {
  if (body.length > 127) throw new Error('short packets only');
  return Buffer.concat([Buffer.from([first, body.length]), body]);
}

const CONNECT = (clientId: string) => packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, 0, 0]), str(clientId)]));
/** SUBSCRIBE packet id 1, filter `#`, QoS 0. */
const SUBSCRIBE = packet(0x82, Buffer.concat([Buffer.from([0, 1]), str('#'), Buffer.from([0])]));

export function run(spec: HostileSpec): { ready: Promise<void>; stop(): HostileResult } {
  const host = spec.host ?? '127.0.0.1';
  const sockets = new Set<net.Socket>();
  let stopping = false;
  let closedByBroker = 0;
  let bytesSent = 0;
  let bytesRead = 0;
  const timers = new Set<NodeJS.Timeout>();

  function mqttSubscriber(i: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(spec.port, host);
      sockets.add(socket);
      let got = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        bytesRead += chunk.length;
        // CONNACK (4 bytes: 20 02 00 rc) then SUBACK (5 bytes: 90 03 00 01 qos).
        if (got.length >= 4 && got[0] === 0x20 && got[3] !== 0) return reject(new Error(`CONNACK refused: ${got[3]}`));
        if (got.length >= 9) {
          if (got[4] !== 0x90 || got[8] === 0x80) return reject(new Error(`SUBACK refused: ${got.subarray(4, 9).toString('hex')}`));
          socket.off('data', onData);
          if (spec.kind === 'mqtt-reader') socket.on('data', (c: Buffer) => (bytesRead += c.length));
          else socket.pause();
          resolve();
        }
      };
      socket.on('data', onData);
      socket.once('error', (err) => (stopping ? undefined : reject(err)));
      socket.once('close', () => {
        sockets.delete(socket);
        if (!stopping) closedByBroker++;
        reject(new Error('closed during setup'));
      });
      socket.write(Buffer.concat([CONNECT(`hostile-sub-${i}`), SUBSCRIBE]));
    });
  }

  function kafkaTrickle(): Promise<void> {
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(spec.sizePrefix ?? 1024 * 1024);
    const one = Buffer.from([0]);
    return new Promise((resolve) => {
      const socket = net.connect(spec.port, host);
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('data', () => undefined); // nothing is expected; whatever comes is dropped
      socket.once('error', () => undefined);
      let timer: NodeJS.Timeout | undefined;
      socket.once('connect', () => {
        socket.write(prefix, () => resolve());
        timer = setInterval(() => {
          if (socket.writable) {
            socket.write(one);
            bytesSent++;
          }
        }, spec.intervalMs ?? 10);
        timers.add(timer);
      });
      socket.once('close', () => {
        sockets.delete(socket);
        if (timer !== undefined) {
          clearInterval(timer);
          timers.delete(timer);
        }
        if (stopping) return;
        closedByBroker++;
        void kafkaTrickle(); // the whole run: start again
        resolve();
      });
    });
  }

  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  const ready = Promise.all(Array.from({ length: spec.count }, (_, i) => (spec.kind === 'kafka-trickle' ? kafkaTrickle() : mqttSubscriber(i)))).then(() => {
    cpu0 = process.cpuUsage();
    t0 = performance.now();
  });
  return {
    ready,
    stop(): HostileResult {
      stopping = true;
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      return { kind: spec.kind, count: spec.count, closedByBroker, bytesSent, bytesRead, seconds: Math.round(seconds * 10) / 10, cpu: Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 1000) / 1000 };
    },
  };
}

/** Runs `spec` in a child process of this file; `stop()` ends it and returns its result. */
export function startHostile(spec: HostileSpec): { ready: Promise<void>; stop(): Promise<HostileResult> } {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let onReady!: () => void;
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => code !== 0 && reject(new Error(`hostile ${spec.kind} exited ${code}`))));
  exited.catch(() => undefined);
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const result = new Promise<HostileResult>((resolve) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') onReady();
      else if (line.startsWith('{')) resolve(JSON.parse(line) as HostileResult);
    });
  });
  return {
    ready: Promise.race([ready, exited]),
    async stop() {
      child.stdin!.end('stop\n');
      return Promise.race([result, exited]);
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const hostile = run(JSON.parse(process.argv[2]) as HostileSpec);
  await hostile.ready;
  process.stdout.write('ready\n');
  const stdin = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => {
    stdin.on('line', (l) => l === 'stop' && resolve());
    stdin.once('close', () => resolve());
  });
  process.stdout.write(`${JSON.stringify(hostile.stop())}\n`);
  process.exit(0);
}
