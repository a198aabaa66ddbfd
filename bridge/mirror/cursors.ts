/**
 * Saving the mirror's cursors. They are saved every `CURSOR_SAVE_MS`, when a rule asks (a quarter
 * of its window acknowledged since it last asked), and at stop; new partitions are looked for
 * every `DISCOVER_MS`. Saves and discovery run one after another, never two at once.
 */
import type { Logger } from '../../src/logger.js';
import type { CursorStore, TopicAdmin } from '../../src/store/types.js';
import { CURSOR_PREFIX } from './discovery.js';
import type { RuleMirror } from './rule.js';

const CURSOR_SAVE_MS = 200;
const DISCOVER_MS = 1000;

/** Cursors of rules no longer configured would hold retention back for ever: removes them. */
export async function removeStaleCursors(store: CursorStore, ruleNames: readonly string[], log: Logger): Promise<void> {
  const configured = new Set(ruleNames.map((name) => CURSOR_PREFIX + name));
  for (const c of store.listCursors()) {
    if (c.name.startsWith(CURSOR_PREFIX) && !configured.has(c.name)) {
      log.warn({ cursor: c.name, topic: c.topic, partition: c.partition, offset: c.offset }, 'removing the cursor of a mirror rule that is no longer configured');
      await store.deleteCursor(c.name, c.topic, c.partition);
    }
  }
}

export class CursorSaver {
  private stopped = false;
  /** Cursor saves and partition discovery, one after another. */
  private tick: Promise<void> = Promise.resolve();
  private saveRequested = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: CursorStore & Pick<TopicAdmin, 'hasTopic'>,
    private readonly rules: readonly RuleMirror[],
    private readonly log: Logger,
  ) {}

  /** Asks for the cursors to be saved soon (coalesced with the periodic save). */
  request(): void {
    if (this.saveRequested || this.stopped) return;
    this.saveRequested = true;
    this.tick = this.tick
      .then(async () => {
        this.saveRequested = false;
        if (!this.stopped) await this.save();
      })
      .catch((err: unknown) => this.log.error({ err }, 'saving mirror cursors failed; will retry'));
  }

  /** Saves every `CURSOR_SAVE_MS`, and runs `discover` every `DISCOVER_MS`, until `stop`. */
  start(discover: () => Promise<void>): void {
    let lastDiscover = Date.now();
    this.timer = setInterval(() => {
      this.tick = this.tick
        .then(async () => {
          if (this.stopped) return;
          await this.save();
          if (Date.now() - lastDiscover >= DISCOVER_MS) {
            lastDiscover = Date.now();
            await discover();
          }
        })
        .catch((err: unknown) => this.log.error({ err }, 'saving mirror cursors or finding new partitions failed; will retry'));
    }, CURSOR_SAVE_MS);
  }

  /** Stops the periodic work (the rules keep running: `finish` saves what they acknowledged). */
  stopTimer(): void {
    clearInterval(this.timer);
  }

  /** The last save, once the rules stopped: waits for the work under way, then saves. */
  async finish(): Promise<void> {
    this.stopped = true;
    await this.tick;
    await this.save();
  }

  /**
   * Every moved cursor of every rule in one go: writes issued together are one LMDB transaction
   * and one flush (lmdb-js batches the writes of an event-loop turn), not one a partition.
   */
  private async save(): Promise<void> {
    const writes: Promise<void>[] = [];
    const moved: [RuleMirror['partitions'][number], number][] = [];
    for (const rule of this.rules) {
      for (const pm of rule.partitions) {
        const cursor = pm.cursor;
        if (cursor === pm.persisted || !this.store.hasTopic(pm.topic)) continue;
        writes.push(this.store.setCursor(pm.cursorName, pm.topic, pm.partition, cursor));
        moved.push([pm, cursor]);
      }
    }
    await Promise.all(writes);
    for (const [pm, cursor] of moved) pm.persisted = cursor;
    for (const rule of this.rules) rule.cursorsSaved();
  }
}
