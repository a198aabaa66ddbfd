/**
 * The mirror to central Kafka: store-and-forward, at least once, in order per partition.
 *
 * For every local topic a rule matches, each partition gets a durable store cursor named
 * `mirror.<rule>` (discovery.ts); retention keeps what the cursor has not passed (unless the
 * topic's overflow policy is drop-oldest). The mirror reads from the cursor, sends through the
 * rule's idempotent producer (acks=all; Weir's own by default, librdkafka's with `client:
 * librdkafka`), and moves the cursor only over the prefix the upstream acknowledged (partition.ts). Cursors are saved periodically, at stop, and whenever a
 * quarter of a rule's window was acknowledged since the last request (cursors.ts); records
 * acknowledged but not yet saved count against `max_in_flight` (send-window.ts), so after a crash
 * the records re-sent are at most `max_in_flight` per rule, and none is skipped.
 */
import { WeirError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import type { CursorStore, DropEvent, RecordLog, TopicAdmin } from '../../src/store/types.js';
import { loadKafkaClient, type KafkaModule } from './client.js';
import { checkRuleUpstreams, type MirrorRuleSpec, type UpstreamSpec } from './config.js';
import { CursorSaver, removeStaleCursors } from './cursors.js';
import { deadLetterWriter } from './dead-letter.js';
import { PartitionDiscovery } from './discovery.js';
import { RuleMirror } from './rule.js';
import { mirrorStatus, type MirrorStatus } from './status.js';

export { ORIGIN_HEADERS } from './rule.js';
export { CURSOR_PREFIX } from './discovery.js';
export type { MirrorStatus } from './status.js';

export interface MirrorOptions {
  deviceId: string;
  upstreams: readonly UpstreamSpec[];
  rules: readonly MirrorRuleSpec[];
  backoffMinMs: number;
  backoffMaxMs: number;
  stopTimeoutMs: number;
}

export interface Mirror {
  readonly rules: readonly RuleMirror[];
  status(): MirrorStatus;
  /** The store's onDrop hook: counts records retention deleted before a rule sent them. */
  onDrop(event: DropEvent): void;
  /** Stops reading, waits (bounded) for reports of what was sent, saves cursors, disconnects. */
  stop(): Promise<void>;
}

export async function startMirror(options: MirrorOptions, store: RecordLog & TopicAdmin & CursorStore, logger: Logger): Promise<Mirror> {
  const log = logger.child({ component: 'mirror' });
  const problems = checkRuleUpstreams(options.upstreams, options.rules).map((p) => `mirror.rules: ${p.why}`);
  if (problems.length > 0) throw new WeirError('CONFIG_INVALID', problems.join('; '), { details: { problems } });
  // Weir's own producer needs no native module: librdkafka is loaded only for rules that use it,
  // and a missing build stops the start here, before anything runs.
  const kafka = options.rules.some((r) => r.client === 'librdkafka') ? loadKafkaClient() : undefined;
  await removeStaleCursors(store, options.rules.map((r) => r.name), log);
  const rules = createRules(options, store, logger, kafka, () => cursors.request());
  const cursors = new CursorSaver(store, rules, log);
  const discovery = new PartitionDiscovery(store, rules, options.deviceId, log);
  await discovery.run();
  for (const rule of rules) rule.start();
  cursors.start(() => discovery.run());
  return {
    rules,
    status: () => mirrorStatus(options.deviceId, rules, store),
    onDrop: (event) => countDrop(rules, event, log),
    async stop() {
      cursors.stopTimer();
      await Promise.all(rules.map((r) => r.stop(options.stopTimeoutMs)));
      await cursors.finish();
      log.info({ rules: rules.length }, 'mirror stopped; cursors saved');
    },
  };
}

function createRules(options: MirrorOptions, store: RecordLog & TopicAdmin & CursorStore, logger: Logger, kafka: KafkaModule | undefined, requestCursorSave: () => void): RuleMirror[] {
  const upstreams = new Map(options.upstreams.map((u) => [u.name, u]));
  const deadLetter = deadLetterWriter(store, options.deviceId);
  return options.rules.map(
    (spec) =>
      new RuleMirror(spec, upstreams.get(spec.upstream)!, {
        store,
        kafka,
        logger,
        deviceId: options.deviceId,
        backoffMinMs: options.backoffMinMs,
        backoffMaxMs: Math.max(options.backoffMinMs, options.backoffMaxMs),
        deadLetter,
        requestCursorSave,
      }),
  );
}

/** Counts, per rule, the records retention deleted before the rule sent them. */
function countDrop(rules: readonly RuleMirror[], event: DropEvent, log: Logger): void {
  for (const rule of rules) {
    for (const pm of rule.partitions) {
      if (pm.topic !== event.topic || pm.partition !== event.partition) continue;
      const lost = event.toOffset - Math.max(event.fromOffset, pm.cursor);
      if (lost <= 0) continue;
      pm.dropped += lost;
      log.warn({ rule: rule.spec.name, topic: event.topic, partition: event.partition, fromOffset: Math.max(event.fromOffset, pm.cursor), toOffset: event.toOffset, reason: event.reason }, 'records deleted before the mirror sent them (overflow policy drop-oldest)');
    }
  }
}
