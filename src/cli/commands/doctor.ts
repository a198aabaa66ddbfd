import { loadConfig } from '../../config/load.js';
import { stringValue, type CommandSpec } from '../spec.js';

const MARK = { ok: '✓', info: '-', warn: '!', fail: '✗' } as const;

export const doctor: CommandSpec = {
  path: ['doctor'],
  summary: 'Check the config, data dir, disk, flash wear, clock, ports and mirror upstreams; print what to fix',
  description: [
    'Runs read-only checks an operator needs before (or while) Weir runs: the config validates; Node.js is 20 or newer; the data directory is writable; free space and the disk budget agree; at the write rate of the running Weir over the last hour (asked over its admin listener), device.flash_endurance_tbw lasts at least five years; the clock is synchronised (record timestamps and retention.ms depend on it); every configured listener port is free (or held by the running Weir); python3 is there for sd_notify under systemd; for each mirror upstream, with the Kafka client its rules send with (Weir\'s own, the default, or librdkafka, whose native module must then be built), its TLS and SASL files are readable, a bootstrap server answers as a Kafka broker, and a SASL login with the configured credentials succeeds (with Weir\'s own client, a Metadata request then lists the brokers the upstream advertises, where the mirror sends).',
    'Each line starts with ✓ (fine), - (for information: the check could not tell), ! (worth a look) or ✗ (must be fixed), followed by what to do. Exit status: 0 when nothing must be fixed, 1 otherwise (an invalid config included), 2 for a usage error.',
  ],
  options: [
    { name: 'config', type: 'string', placeholder: 'FILE', doc: 'The YAML config file Weir runs with.', defaultDoc: 'none (built-in defaults and WEIR_* variables)' },
  ],
  examples: ['weir doctor --config /etc/weir/weir.yaml', 'sudo -u weir weir doctor --config /etc/weir/weir.yaml'],
  async run(values, ctx) {
    const file = stringValue(values, 'config');
    const config = loadConfig({ file, env: ctx.env, cwd: ctx.cwd });
    ctx.stdout.write(`${MARK.ok} config: ${file ?? 'built-in defaults'} is valid\n`);
    // Imported here: the probes are only needed by this command.
    const { runChecks } = await import('../../../device/doctor.js');
    const results = await runChecks(config);
    let failures = 0;
    for (const r of results) {
      if (r.level === 'fail') failures++;
      ctx.stdout.write(`${MARK[r.level]} ${r.name}: ${r.message}\n`);
      if (r.fix !== undefined && r.level !== 'ok') ctx.stdout.write(`    fix: ${r.fix}\n`);
    }
    ctx.stdout.write(failures === 0 ? 'Nothing to fix.\n' : `${failures} problem${failures === 1 ? '' : 's'} to fix.\n`);
    return failures === 0 ? 0 : 1;
  },
};
