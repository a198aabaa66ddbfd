/**
 * The sensor simulator behind `weir simulate`: N simulated sensors, each its own MQTT
 * connection, publishing JSON readings on `sensors/<site>/<device>/<metric>` at a steady rate.
 * Used by the README demo, by tests, and to load a gateway before it goes into the field.
 *
 * Readings are a random walk around a plausible value per metric, so a dashboard shows
 * something that looks like a building, not noise. Connections open in small batches so the
 * simulator does not itself become a connect storm.
 */
import { connectAsync, type MqttClient } from 'mqtt';

export interface SimulatorOptions {
  url: string;
  sensors: number;
  /** Messages per second, per sensor. */
  rate: number;
  qos: 0 | 1 | 2;
  /** Sensors are spread over this many sites. */
  sites: number;
  /** Client ids and device names start with this, so several simulators can share a broker. */
  prefix: string;
  /** MQTT login of every sensor (credentials in the URL, mqtt://user:pass@host, work too). */
  username?: string;
  password?: string;
}

export interface SimulatorStats {
  connected: number;
  sent: number;
  acked: number;
  errors: number;
}

const METRICS = [
  { name: 'temperature', unit: '°C', base: 21, step: 0.1 },
  { name: 'humidity', unit: '%', base: 45, step: 0.5 },
  { name: 'pressure', unit: 'hPa', base: 1013, step: 0.2 },
  { name: 'co2', unit: 'ppm', base: 600, step: 5 },
] as const;

const CONNECT_BATCH = 50;

export class Simulator {
  readonly stats: SimulatorStats = { connected: 0, sent: 0, acked: 0, errors: 0 };
  private readonly clients: MqttClient[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(private readonly options: SimulatorOptions) {}

  /** Connects every sensor (rejecting if the broker cannot be reached) and starts publishing. */
  async start(): Promise<void> {
    const { sensors, sites, prefix } = this.options;
    for (let first = 0; first < sensors && !this.stopped; first += CONNECT_BATCH) {
      const batch = Array.from({ length: Math.min(CONNECT_BATCH, sensors - first) }, (_, i) => first + i);
      await Promise.all(batch.map(async (n) => {
        const { username, password } = this.options;
        const login = { ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }) };
        const client = await connectAsync(this.options.url, { clientId: `${prefix}-${n}`, reconnectPeriod: 1000, connectTimeout: 10_000, ...login });
        this.clients.push(client);
        this.stats.connected++;
        client.on('error', () => this.stats.errors++);
        this.run(client, `site-${n % sites}`, `${prefix}-dev-${n}`, n);
      }));
    }
  }

  private run(client: MqttClient, site: string, device: string, n: number): void {
    const metric = METRICS[n % METRICS.length]!;
    let value = metric.base + (Math.random() - 0.5) * metric.step * 20;
    let seq = 0;
    const periodMs = 1000 / this.options.rate;
    const topic = `sensors/${site}/${device}/${metric.name}`;
    const tick = (): void => {
      if (this.stopped) return;
      value += (Math.random() - 0.5) * 2 * metric.step;
      const payload = JSON.stringify({ device, metric: metric.name, value: Math.round(value * 100) / 100, unit: metric.unit, seq: seq++, ts: Date.now() });
      this.stats.sent++;
      client.publish(topic, payload, { qos: this.options.qos }, (err) => {
        if (err) this.stats.errors++;
        else this.stats.acked++;
      });
    };
    // Start at a random phase so sensors do not all publish in the same millisecond.
    const start = setTimeout(() => {
      tick();
      this.timers.push(setInterval(tick, periodMs));
    }, Math.random() * periodMs);
    this.timers.push(start);
  }

  /** Stops publishing, waits for outstanding acks (up to `graceMs`), and disconnects. */
  async stop(graceMs = 2000): Promise<SimulatorStats> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    const deadline = Date.now() + graceMs;
    while (this.stats.acked + this.stats.errors < this.stats.sent && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await Promise.all(this.clients.map((c) => c.endAsync()));
    return { ...this.stats };
  }
}

/** One status line: totals and rates since the previous line. */
export function statusLine(now: SimulatorStats, before: SimulatorStats, seconds: number): string {
  const rate = (a: number, b: number): string => `${Math.round((a - b) / seconds)}/s`;
  return `sensors ${now.connected}  sent ${now.sent} (${rate(now.sent, before.sent)})  acked ${now.acked} (${rate(now.acked, before.acked)})  ` +
    `in flight ${now.sent - now.acked - now.errors}  errors ${now.errors}`;
}
