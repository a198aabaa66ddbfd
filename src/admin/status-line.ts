/**
 * The one-line summary systemd shows in `systemctl status` (sd_notify STATUS=): the store's
 * append rate, topics and disk use first, then a short part from each component that registered
 * one (MQTT clients, mirror lag). Rates are over the interval since the previous line.
 */
import type { StoreMonitor, TopicAdmin } from '../store/types.js';

export class StatusLine {
  private readonly parts = new Map<string, () => string>();
  private previous: { at: number; appended: number } | undefined;

  constructor(private readonly store: TopicAdmin & StoreMonitor) {}

  /** Adds a component's part, e.g. `() => '12 MQTT clients'`. */
  register(name: string, part: () => string): void {
    this.parts.set(name, part);
  }

  render(now = Date.now()): string {
    const s = this.store.stats();
    if (s.storageFailure !== undefined) return `storage failure: ${s.storageFailure}`;
    const pct = s.diskBudgetBytes > 0 ? Math.round((100 * s.usedBytes) / s.diskBudgetBytes) : 0;
    const prev = this.previous;
    this.previous = { at: now, appended: s.recordsAppended };
    const seconds = prev === undefined ? 0 : (now - prev.at) / 1000;
    const rate = seconds > 0 ? `${Math.round((s.recordsAppended - prev!.appended) / seconds)} records/s` : `${s.recordsAppended} records appended`;
    const head = `${rate}, ${this.store.listTopics().length} topics, disk budget ${pct}% used`;
    return [head, ...[...this.parts.values()].map((part) => part())].join('; ');
  }
}
