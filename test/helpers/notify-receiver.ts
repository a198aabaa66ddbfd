/**
 * A real unix datagram socket standing in for systemd's $NOTIFY_SOCKET (Node cannot open one, so
 * a Python 3 child binds it). Every datagram received is kept with its arrival time.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { tempDir } from './store.js';

const RECEIVER = `
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps({"bound": True}), flush=True)
while True:
    data = s.recv(4096)
    print(json.dumps({"t": time.time() * 1000, "msg": data.decode()}), flush=True)
`;

export interface Notification {
  t: number;
  msg: string;
}

export async function startNotifyReceiver(): Promise<{ socket: string; messages: Notification[]; waitFor(text: string, timeoutMs?: number): Promise<Notification>; close(): void }> {
  const { dir, cleanup } = tempDir('weir-notify-');
  const socket = join(dir, 'notify.sock');
  const child = spawn('python3', ['-c', RECEIVER, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: Notification[] = [];
  const listeners = new Set<() => void>();
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    lines.once('line', () => resolve());
  });
  lines.on('line', (line) => {
    messages.push(JSON.parse(line) as Notification);
    for (const l of listeners) l();
  });
  return {
    socket,
    messages,
    waitFor(text, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find((m) => m.msg.split('\n').includes(text));
          if (found === undefined) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no '${text}' within ${timeoutMs} ms; got ${JSON.stringify(messages.map((m) => m.msg))}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    close() {
      child.kill();
      cleanup();
    },
  };
}
