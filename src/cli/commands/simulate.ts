/**
 * `weir simulate`: simulated sensors publishing to an MQTT broker (Weir's, or any other), with
 * a live line of sent/acked per second. Runs until Ctrl-C, or for --duration.
 */
import { WeirError } from '../../errors.js';
import { parseDurationMs } from '../../config/types.js';
import { intValue, stringValue, type CommandSpec } from '../spec.js';

export const simulate: CommandSpec = {
  path: ['simulate'],
  summary: 'Run simulated MQTT sensors against a broker, showing sent/acked per second',
  description: [
    'Opens one MQTT connection per sensor and publishes JSON readings ({device, metric, value, unit, seq, ts}) on sensors/<site>/<device>/<metric>, --rate times a second per sensor. A status line shows messages sent and acknowledged per second. Ctrl-C (or --duration) stops it: it waits briefly for outstanding acks, prints the totals and exits 0, or 1 if any publish failed.',
  ],
  options: [
    { name: 'url', type: 'string', placeholder: 'URL', doc: 'Broker to publish to.', defaultDoc: 'mqtt://127.0.0.1:1883' },
    { name: 'sensors', type: 'string', placeholder: 'N', doc: 'Number of sensors (connections), 1–10000.', defaultDoc: '10' },
    { name: 'rate', type: 'string', placeholder: 'N', doc: 'Messages per second per sensor, 1–1000.', defaultDoc: '1' },
    { name: 'qos', type: 'string', placeholder: '0|1|2', doc: 'MQTT QoS of every publish.', defaultDoc: '1' },
    { name: 'sites', type: 'string', placeholder: 'N', doc: 'Sites the sensors are spread over.', defaultDoc: 'one per 50 sensors' },
    { name: 'duration', type: 'string', placeholder: 'DURATION', doc: 'Stop after this long, e.g. 30s or 5m.', defaultDoc: 'until Ctrl-C' },
    { name: 'prefix', type: 'string', placeholder: 'NAME', doc: 'Client id and device name prefix.', defaultDoc: 'sim' },
    {
      name: 'username', type: 'string', placeholder: 'NAME',
      doc: 'MQTT username every sensor logs in with (a user of `weir users add`; needed unless mqtt.allow_anonymous). mqtt://USER:PASS@HOST:PORT in --url works too.',
      defaultDoc: 'the one in --url, else none',
    },
    { name: 'password', type: 'string', placeholder: 'PASSWORD', doc: 'Password for --username. It shows in `ps` and shell history: use a test user.', defaultDoc: 'the one in --url, else none' },
  ],
  examples: [
    'weir simulate --sensors 200 --rate 5 --qos 1',
    'weir simulate --url mqtt://gateway.local:1883 --sensors 20 --duration 1m',
    'weir simulate --username sim --password sim-test-pw --sensors 5',
  ],
  async run(values, ctx) {
    const sensors = intValue(values, 'sensors', 1, 10_000, simulate) ?? 10;
    const rate = intValue(values, 'rate', 1, 1000, simulate) ?? 1;
    const qos = (intValue(values, 'qos', 0, 2, simulate) ?? 1) as 0 | 1 | 2;
    const sites = intValue(values, 'sites', 1, 10_000, simulate) ?? Math.ceil(sensors / 50);
    const durationArg = stringValue(values, 'duration');
    const durationMs = durationArg === undefined ? undefined : parseDurationMs(durationArg);
    if (durationArg !== undefined && (durationMs === undefined || durationMs === 0)) {
      throw new WeirError('USAGE', `--duration ${durationArg} is invalid: expected a duration such as 30s or 5m`);
    }
    const url = stringValue(values, 'url') ?? 'mqtt://127.0.0.1:1883';
    // Imported here: only this command needs the MQTT client.
    const { Simulator, statusLine } = await import('../../../device/simulator.js');
    const username = stringValue(values, 'username');
    const password = stringValue(values, 'password');
    if (password !== undefined && username === undefined) throw new WeirError('USAGE', '--password needs --username', { details: { command: 'weir simulate' } });
    const sim = new Simulator({
      url, sensors, rate, qos, sites, prefix: stringValue(values, 'prefix') ?? 'sim',
      ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }),
    });

    let stop: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const onSignal = (): void => stop();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const timer = durationMs === undefined ? undefined : setTimeout(stop, durationMs);
    const tty = (ctx.stderr as NodeJS.WriteStream).isTTY === true;
    let before = { ...sim.stats };
    const ticker = setInterval(() => {
      ctx.stderr.write(tty ? `\r${statusLine(sim.stats, before, 1)}\u001b[K` : `${statusLine(sim.stats, before, 1)}\n`);
      before = { ...sim.stats };
    }, 1000);
    try {
      ctx.stderr.write(`connecting ${sensors} sensors to ${url}…\n`);
      await Promise.race([sim.start(), stopped]);
      await stopped;
    } catch (err) {
      await sim.stop(0);
      ctx.stderr.write(`weir simulate: the broker at ${url} refused the sensors: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    } finally {
      clearInterval(ticker);
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    const total = await sim.stop();
    if (tty) ctx.stderr.write('\n');
    ctx.stdout.write(`${JSON.stringify(total)}\n`);
    return total.errors > 0 ? 1 : 0;
  },
};
