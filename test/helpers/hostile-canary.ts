/**
 * The canary of the hostile suite: an ordinary sensor and an ordinary reader beside each attack.
 * An MQTT.js client publishes QoS 1 at `rate` msg/s to `canary/<seq>` (mapped to the log topic
 * `canary`, created first over Kafka so it keeps flush.ms=0) and times each PUBACK; a kcat
 * consumer reads that topic from the start. `window()` says how both fared between two instants.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Kafka, logLevel } from 'kafkajs';
import mqtt from 'mqtt';
import type { HostileWeir } from './hostile-weir.js';

export const CANARY_TOPIC = 'canary';
/** The mapping rule that sends the canary's MQTT topics to its log topic (everything else goes to `mqtt`). */
export const CANARY_RULE = { filter: 'canary/#', topic: CANARY_TOPIC };

export interface CanaryWindow {
  sent: number;
  acked: number;
  /** PUBACK latency (ms) of the messages sent in the window; an unacknowledged one counts as its age now. */
  p99: number;
  max: number;
  /** Longest time (ms) without a PUBACK inside the window. */
  longestGap: number;
  /** Records the Kafka consumer received inside the window. */
  consumed: number;
}

export class Canary {
  private readonly sentAt: number[] = [];
  private readonly ackAt: number[] = [];
  private readonly ackTimes: number[] = [];
  private readonly consumeTimes: number[] = [];
  private waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Why the canary broke (its MQTT connection closed, kcat exited), if it did. */
  failure: string | undefined;

  private constructor(
    private readonly client: mqtt.MqttClient,
    private readonly consumer: ChildProcess,
  ) {
    client.on('close', () => this.fail('the MQTT connection closed'));
    consumer.on('exit', (code, signal) => this.fail(`kcat exited (${code ?? signal})`));
    createInterface({ input: consumer.stdout! }).on('line', () => {
      this.consumeTimes.push(Date.now());
      this.wake();
    });
  }

  static async start(weir: HostileWeir, opts: { rate?: number; username?: string; password?: string } = {}): Promise<Canary> {
    const kafka = new Kafka({ clientId: 'canary-admin', brokers: [weir.kafka], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: CANARY_TOPIC, numPartitions: 1 }], waitForLeaders: false });
    await admin.disconnect();
    const consumer = spawn('kcat', ['-b', weir.kafka, '-C', '-t', CANARY_TOPIC, '-p', '0', '-o', 'beginning', '-u', '-q', '-f', '%o\n'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${weir.mqttPort}`, {
      clientId: 'canary',
      keepalive: 30,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      ...(opts.username === undefined ? {} : { username: opts.username, password: opts.password ?? '' }),
    });
    const canary = new Canary(client, consumer);
    canary.run(opts.rate ?? 150);
    return canary;
  }

  private run(rate: number): void {
    const began = Date.now();
    this.timer = setInterval(() => {
      const due = Math.floor(((Date.now() - began) * rate) / 1000);
      while (this.sentAt.length < due && this.failure === undefined) {
        const seq = this.sentAt.length;
        this.sentAt.push(Date.now());
        this.client.publish(`canary/${seq}`, JSON.stringify({ seq, t: Date.now() }), { qos: 1 }, (err) => {
          if (err !== undefined && err !== null) return this.fail(`PUBLISH ${seq} failed: ${err.message}`);
          const now = Date.now();
          this.ackAt[seq] = now;
          this.ackTimes.push(now);
          this.wake();
        });
      }
    }, 10);
  }

  private fail(why: string): void {
    if (this.timer === undefined) return; // stopped on purpose
    this.failure ??= why;
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  get sent(): number {
    return this.sentAt.length;
  }

  window(from: number, to: number): CanaryWindow {
    const now = Date.now();
    const lat: number[] = [];
    let acked = 0;
    for (let i = 0; i < this.sentAt.length; i++) {
      const s = this.sentAt[i]!;
      if (s < from || s >= to) continue;
      const a = this.ackAt[i];
      if (a !== undefined) acked++;
      lat.push((a ?? now) - s);
    }
    lat.sort((a, b) => a - b);
    const acks = [from, ...this.ackTimes.filter((t) => t >= from && t < to), Math.min(to, now)];
    let longestGap = 0;
    for (let i = 1; i < acks.length; i++) longestGap = Math.max(longestGap, acks[i]! - acks[i - 1]!);
    return {
      sent: lat.length,
      acked,
      p99: lat.length === 0 ? NaN : lat[Math.min(lat.length - 1, Math.ceil(lat.length * 0.99) - 1)]!,
      max: lat.at(-1) ?? NaN,
      longestGap,
      consumed: this.consumeTimes.filter((t) => t >= from && t < to).length,
    };
  }

  /**
   * Resolves once the first `target` messages (default: every one sent so far) are acknowledged
   * and consumed; rejects after `withinMs`, or at once if the canary broke.
   */
  async caughtUp(withinMs: number, target = this.sentAt.length): Promise<void> {
    const deadline = setTimeout(() => this.wake(), withinMs);
    const until = Date.now() + withinMs;
    try {
      for (;;) {
        if (this.failure !== undefined) throw new Error(`canary broke: ${this.failure}`);
        const acked = this.ackAt.slice(0, target).filter((a) => a !== undefined).length;
        if (acked === target && this.consumeTimes.length >= target) return;
        if (Date.now() >= until) throw new Error(`canary not caught up ${withinMs} ms later: ${acked}/${target} acknowledged, ${this.consumeTimes.length} consumed`);
        await new Promise<void>((r) => this.waiters.push(r));
      }
    } finally {
      clearTimeout(deadline);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.consumer.kill('SIGTERM');
    await this.client.endAsync(true).catch(() => undefined);
  }
}
