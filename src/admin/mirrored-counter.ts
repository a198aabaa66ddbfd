/**
 * Prometheus counters that mirror counters a component keeps itself (plain numbers bumped on its
 * hot path: the store's totals, the memory guard's, the Kafka listener's, the MQTT bridge's). They
 * are read at scrape time, so nothing runs between scrapes, and each series is raised by what its
 * value grew since the last scrape; a value that went down is taken as the new starting point.
 */
import { Counter, type Registry } from 'prom-client';

/**
 * A counter split by `labelNames`. `read` gives the values now, one per series, keyed by the
 * series' label values joined by NUL (one label: its value; no labels: one value under any key),
 * or undefined while there is nothing to read, which leaves the counter as it was.
 */
export function mirroredCounter(
  registry: Registry,
  name: string,
  help: string,
  read: () => Readonly<Record<string, number>> | undefined,
  labelNames: readonly string[] = [],
): void {
  const last = new Map<string, number>();
  new Counter({
    name,
    help,
    registers: [registry],
    labelNames,
    collect() {
      for (const [key, now] of Object.entries(read() ?? {})) {
        const before = last.get(key) ?? 0;
        if (now > before) {
          if (labelNames.length === 0) this.inc(now - before);
          else {
            const values = key.split('\0');
            this.inc(Object.fromEntries(labelNames.map((l, i) => [l, values[i] ?? ''])), now - before);
          }
        }
        last.set(key, now);
      }
    },
  });
}

/** A counter without labels following one value (undefined while it cannot be read). */
export function mirroredTotal(registry: Registry, name: string, help: string, read: () => number | undefined): void {
  mirroredCounter(registry, name, help, () => {
    const now = read();
    return now === undefined ? undefined : { '': now };
  });
}
