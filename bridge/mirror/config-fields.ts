/**
 * The `mirror` section of the config schema (src/config/schema.ts spreads it in): the upstream
 * and rule lists (parsed in ./config.ts) and the reconnect and stop timings.
 */
import { hostname } from 'node:os';
import { field, type CrossCheck } from '../../src/config/field.js';
import { durationMs, nonEmptyString } from '../../src/config/types.js';
import { checkRuleUpstreams, mirrorRules, mirrorUpstreams, type MirrorRuleSpec, type UpstreamSpec } from './config.js';

/** `device.id`: kept here because the mirror is what uses it (templates, origin headers). */
export const DEVICE_ID_FIELD = field({
  type: nonEmptyString(),
  default: () => hostname(),
  defaultDoc: 'the host name',
  doc: 'This gateway\'s id: the `{device}` of mirror upstream topic templates and the device in the origin header of every mirrored record (`weir.origin`, or `weir.origin.device`). Keep it unique across the fleet.',
  fix: 'Set a short unique name such as pi-barn-3, or remove it to use the host name.',
});

/** Checks across the section's fields, at load like any field's own (src/config/load.ts). */
export const MIRROR_CROSS_CHECKS: readonly CrossCheck[] = [
  {
    field: 'mirror.rules',
    check: (config) => checkRuleUpstreams(config.mirror!.upstreams as UpstreamSpec[], config.mirror!.rules as MirrorRuleSpec[]),
  },
];

export const MIRROR_FIELDS = {
  upstreams: field({
    type: mirrorUpstreams(),
    default: '[]',
    doc: 'Central Kafka clusters to mirror to: `[{name: central, bootstrap_servers: [kafka1:9093], client_id: weir-mirror, tls: {ca_file, cert_file, key_file}, sasl: {mechanism: SCRAM-SHA-512, username, password_file}}]`. `tls` turns TLS on (the files are optional PEM); the SASL password is read from `password_file` (e.g. systemd LoadCredential=). Empty = no mirror. See "Mirror to central Kafka".',
    fix: 'Write a YAML list of upstreams, each with name and bootstrap_servers; the message names the entry and field at fault.',
  }),
  rules: field({
    type: mirrorRules(),
    default: '[]',
    doc: 'What to mirror: `[{name, upstream, topics: [sensors.*], upstream_topic: "edge.{device}.{topic}", partitioning: same|key, batch_size: 10000, linger_ms: 20, compression: lz4, max_in_flight: 20000, max_in_flight_bytes: 16MiB, on_refused: stop|skip, dead_letter_topic: weir.mirror.dead-letter, max_bytes_per_second: 0, delivery: at-least-once|exactly-once, cursor_topic: weir-mirror-cursors, origin_headers: compact|four|none}]`; all but name, upstream and topics have these defaults. `origin_headers: compact` gives each record one `weir.origin: <device>/<topic>/<partition>/<offset>` header, `four` the `weir.origin.device`, `.topic`, `.partition` and `.offset` headers of earlier versions, `none` no origin header (see "Origin headers"). `delivery: exactly-once` writes each chunk and its cursor in one upstream transaction (see "Exactly-once delivery").',
    fix: 'Write a YAML list of rules, each with name, upstream and topics; the message names the rule and field at fault.',
  }),
  backoff_min_ms: field({
    type: durationMs(10, 600_000),
    default: 500,
    doc: 'First wait before reconnecting to an upstream (or retrying after an error); it doubles per failure, with full jitter, up to `mirror.backoff_max_ms`.',
    fix: 'Set a duration such as 500 or 1s.',
  }),
  backoff_max_ms: field({
    type: durationMs(10, 3_600_000),
    default: 30_000,
    doc: 'Longest wait between reconnect attempts.',
    fix: 'Set a duration such as 30s, at least mirror.backoff_min_ms.',
  }),
  stop_timeout_ms: field({
    type: durationMs(0, 600_000),
    default: 3000,
    doc: 'At shutdown, how long the mirror waits for the upstream to acknowledge records already sent before it saves its cursors and disconnects (what is not acknowledged is sent again after the restart). Keep it below `shutdown.timeout_ms`.',
    fix: 'Set a duration such as 3s, below shutdown.timeout_ms.',
  }),
} as const;
