/** The "Kafka clients" block of the status page: who is connected, what flows, what was turned away. */
import type { StatusSectionView } from '../../admin/status.js';
import type { KafkaListener } from './listener.js';

export function kafkaStatusSection(listener: KafkaListener): StatusSectionView {
  const s = listener.stats;
  const sasl = listener.saslCounters();
  const turnedAway = s.closed.bad_input + s.closed.max_connections + s.closed.unauthenticated_request + s.closed.tls_handshake + s.closed.slow_request;
  const requests = [...s.requests.values()].reduce((a, b) => a + b, 0);
  const errors = [...s.requests].filter(([k]) => !k.endsWith('\0NONE')).reduce((a, [, n]) => a + n, 0);
  const byApi = new Map<string, { n: number; errors: number }>();
  for (const [key, n] of s.requests) {
    const [api, error] = key.split('\0') as [string, string];
    const row = byApi.get(api) ?? { n: 0, errors: 0 };
    row.n += n;
    if (error !== 'NONE') row.errors += n;
    byApi.set(api, row);
  }
  return {
    id: 'kafka',
    title: 'Kafka clients',
    state: { text: `${listener.broker.host}:${listener.broker.port} (${listener.security})`, level: 'ok' },
    cards: [
      { id: 'connections', label: 'clients connected', value: listener.connectionCount() },
      { id: 'requests', label: 'requests', value: requests, rate: 'requests/s' },
      { id: 'produced', label: 'records produced', value: s.recordsProduced, rate: 'records/s' },
      { id: 'fetched', label: 'records fetched', value: s.recordsFetched, rate: 'records/s' },
      { id: 'bytes-in', label: 'bytes in', value: s.bytesIn, rate: 'B/s' },
      { id: 'bytes-out', label: 'bytes out', value: s.bytesOut, rate: 'B/s' },
      { id: 'errors', label: 'requests answered with an error (total)', value: errors },
      { id: 'turned-away', label: 'connections closed for bad input or limits', value: turnedAway },
      ...(sasl === undefined ? [] : [{ id: 'auth-failed', label: 'failed SASL logins', value: sasl.failed }]),
    ],
    table: {
      columns: [{ label: 'API' }, { label: 'requests', numeric: true }, { label: 'with errors', numeric: true }],
      rows: [...byApi].sort(([a], [b]) => (a < b ? -1 : 1)).map(([api, r]) => [api, r.n, r.errors]),
      empty: 'no requests yet',
    },
  };
}
