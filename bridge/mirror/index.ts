/**
 * The mirror to central Kafka: store-and-forward, at least once, in order per partition.
 *
 * For every local topic a rule matches, each partition gets a durable store cursor named
 * `mirror.<rule>`; retention keeps what the cursor has not passed (unless the topic's overflow
 * policy is drop-oldest). The mirror reads from the cursor, sends through the rule's idempotent
 * librdkafka producer (acks=all), and moves the cursor only over the prefix the upstream
 * acknowledged (partition.ts). Cursors are saved every `CURSOR_SAVE_MS`, at stop, and whenever a
 * quarter of a rule's window was acknowledged since the last request; records acknowledged but
 * not yet saved count against `max_in_flight` (rule.ts `windowUsed`), so after a crash the records
 * re-sent are at most `max_in_flight` per rule, and none is skipped.
 */
import { isWeirError, WeirError } from '../../src/errors.js';
import { decodeRecordBatch } from '../../src/kafka/protocol/record-batch.js';
import type { Logger } from '../../src/logger.js';
import { DefaultPartitioner } from '../../src/produce/partitioner.js';
import type { DropEvent, LogStore } from '../../src/store/types.js';
import { loadKafkaClient } from './client.js';
import { checkRuleUpstreams, renderUpstreamTopic, topicMatcher, type MirrorRuleSpec, type UpstreamSpec } from './config.js';
import { PartitionMirror } from './partition.js';
import { ORIGIN_HEADERS, RuleMirror } from './rule.js';
import { mirrorStatus, type MirrorStatus } from './status.js';

export { ORIGIN_HEADERS } from './rule.js';
export type { MirrorStatus } from './status.js';

export const CURSOR_PREFIX = 'mirror.';
const CURSOR_SAVE_MS = 200;
const DISCOVER_MS = 1000;

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

export async function startMirror(options: MirrorOptions, store: LogStore, logger: Logger): Promise<Mirror> {
  const log = logger.child({ component: 'mirror' });
  const problems = checkRuleUpstreams(options.upstreams, options.rules);
  if (problems.length > 0) throw new WeirError('CONFIG_INVALID', problems.join('; '), { details: { problems } });
  const kafka = loadKafkaClient();
  const deadLetterTopics = new Set(options.rules.map((r) => r.deadLetterTopic));
  const deadLetterPartitioner = new DefaultPartitioner(store);

  // Cursors of rules no longer configured would hold retention back for ever: remove them.
  const ruleNames = new Set(options.rules.map((r) => CURSOR_PREFIX + r.name));
  for (const c of store.listCursors()) {
    if (c.name.startsWith(CURSOR_PREFIX) && !ruleNames.has(c.name)) {
      log.warn({ cursor: c.name, topic: c.topic, partition: c.partition, offset: c.offset }, 'removing the cursor of a mirror rule that is no longer configured');
      await store.deleteCursor(c.name, c.topic, c.partition);
    }
  }

  async function deadLetter(rule: MirrorRuleSpec, pm: PartitionMirror, offset: number, reason: string): Promise<void> {
    const topic = rule.deadLetterTopic;
    if (!store.hasTopic(topic)) {
      await store.createTopic(topic, { partitions: 1 }).catch((err: unknown) => {
        if (!isWeirError(err, 'TOPIC_ALREADY_EXISTS')) throw err;
      });
    }
    const read = store.read(pm.topic, pm.partition, offset, 1);
    for (const batch of read.batches) {
      const record = decodeRecordBatch(batch).records.find((r) => r.offset === offset);
      if (record === undefined) continue;
      const headers = [
        ...record.headers,
        { key: ORIGIN_HEADERS.device, value: Buffer.from(options.deviceId) },
        { key: ORIGIN_HEADERS.topic, value: Buffer.from(pm.topic) },
        { key: ORIGIN_HEADERS.partition, value: Buffer.from(String(pm.partition)) },
        { key: ORIGIN_HEADERS.offset, value: Buffer.from(String(offset)) },
        { key: 'weir.mirror.rule', value: Buffer.from(rule.name) },
        { key: 'weir.mirror.error', value: Buffer.from(reason) },
      ];
      await store.appendRecords(topic, deadLetterPartitioner.partitionFor(topic, record.key), [{ key: record.key, value: record.value, timestamp: record.timestamp, headers }]);
      return;
    }
    // Retention took it meanwhile (drop-oldest): nothing left to keep.
  }

  let stopped = false;
  /** Cursor saves and partition discovery, one after another. */
  let tick: Promise<void> = Promise.resolve();
  let saveRequested = false;
  function requestCursorSave(): void {
    if (saveRequested || stopped) return;
    saveRequested = true;
    tick = tick
      .then(async () => {
        saveRequested = false;
        if (!stopped) await saveCursors();
      })
      .catch((err: unknown) => log.error({ err }, 'saving mirror cursors failed; will retry'));
  }

  const upstreams = new Map(options.upstreams.map((u) => [u.name, u]));
  const rules = options.rules.map(
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
  const matchers = options.rules.map((r) => topicMatcher(r.topics));
  const known = new Set<string>();

  /** Finds new matching topics and partitions; registers a cursor for each (from the log start). */
  async function discover(): Promise<void> {
    for (const [i, rule] of rules.entries()) {
      for (const topic of store.listTopics()) {
        if (!matchers[i]!(topic)) continue;
        // A dead-letter topic is mirrored only when a rule names it exactly.
        if (deadLetterTopics.has(topic) && !rule.spec.topics.includes(topic)) continue;
        let partitions;
        try {
          partitions = store.describeTopic(topic).partitions;
        } catch (err) {
          if (isWeirError(err, 'UNKNOWN_TOPIC_OR_PARTITION')) continue;
          throw err;
        }
        for (const p of partitions) {
          const key = `${rule.spec.name}\u0000${topic}\u0000${p.partition}`;
          if (known.has(key)) continue;
          const name = CURSOR_PREFIX + rule.spec.name;
          let cursor = store.getCursor(name, topic, p.partition);
          if (cursor === undefined) {
            cursor = p.logStartOffset;
            await store.setCursor(name, topic, p.partition, cursor);
          }
          known.add(key);
          const upstreamTopic = renderUpstreamTopic(rule.spec.upstreamTopic, { device: options.deviceId, topic });
          rule.addPartition(new PartitionMirror({ cursorName: name, topic, partition: p.partition, upstreamTopic, cursor }));
          log.info({ rule: rule.spec.name, topic, partition: p.partition, upstreamTopic, cursor }, 'mirroring partition');
        }
      }
    }
  }

  async function saveCursors(): Promise<void> {
    for (const rule of rules) {
      for (const pm of rule.partitions) {
        const cursor = pm.cursor;
        if (cursor === pm.persisted || !store.hasTopic(pm.topic)) continue;
        await store.setCursor(pm.cursorName, pm.topic, pm.partition, cursor);
        pm.persisted = cursor;
      }
      rule.cursorsSaved();
    }
  }

  await discover();
  for (const rule of rules) rule.start();

  let lastDiscover = Date.now();
  const timer = setInterval(() => {
    tick = tick
      .then(async () => {
        if (stopped) return;
        await saveCursors();
        if (Date.now() - lastDiscover >= DISCOVER_MS) {
          lastDiscover = Date.now();
          await discover();
        }
      })
      .catch((err: unknown) => log.error({ err }, 'saving mirror cursors or finding new partitions failed; will retry'));
  }, CURSOR_SAVE_MS);

  return {
    rules,
    status: () => mirrorStatus(options.deviceId, rules, store),
    onDrop(event) {
      for (const rule of rules) {
        for (const pm of rule.partitions) {
          if (pm.topic !== event.topic || pm.partition !== event.partition) continue;
          const lost = event.toOffset - Math.max(event.fromOffset, pm.cursor);
          if (lost <= 0) continue;
          pm.dropped += lost;
          log.warn({ rule: rule.spec.name, topic: event.topic, partition: event.partition, fromOffset: Math.max(event.fromOffset, pm.cursor), toOffset: event.toOffset, reason: event.reason }, 'records deleted before the mirror sent them (overflow policy drop-oldest)');
        }
      }
    },
    async stop() {
      clearInterval(timer);
      await Promise.all(rules.map((r) => r.stop(options.stopTimeoutMs)));
      stopped = true;
      await tick;
      await saveCursors();
      log.info({ rules: rules.length }, 'mirror stopped; cursors saved');
    },
  };
}
