/**
 * `weir doctor`'s probe of an upstream through Weir's own Kafka client (bridge/mirror/wire/), the
 * one rules with `client: weir` (the at-least-once default) send with. Each bootstrap server in
 * order gets the connection the mirror opens (TCP, TLS, ApiVersions, SASL login: KIP-35, KIP-152),
 * then a Metadata request for no topic, whose answer names the brokers the mirror goes on to
 * send to; then the connection closes. Nothing is produced.
 */
import { wireSecurity } from '../bridge/mirror/wire-link.js';
import { BrokerConnection, ConnectError } from '../bridge/mirror/wire/connection.js';
import { parseHostPort } from '../bridge/mirror/wire/connections.js';
import { METADATA_VERSIONS, readMetadataResponse, writeMetadataRequest } from '../bridge/mirror/wire/requests.js';
import type { UpstreamSpec } from '../bridge/mirror/config.js';
import { ApiKey } from '../src/kafka/protocol/api-keys.js';

export type WireProbe =
  /** `server` took the login (if any); `brokers` are the addresses its metadata advertises, or `metadataProblem` says why there are none. */
  | { outcome: 'ok'; server: string; brokers: string[]; metadataProblem?: string }
  /** `server` answered as a Kafka broker and refused the SASL login, for `reason`. */
  | { outcome: 'login refused'; server: string; reason: string }
  /** No bootstrap server could be connected to: `problems` says why for each, `tlsProblems` of them in TLS. */
  | { outcome: 'unreached'; problems: string[]; tlsProblems: number };

/** The bootstrap servers in order, until one takes the connection or refuses the login (the credentials are the cluster's, so the next would refuse them too). */
export async function probeWithWeirClient(upstream: UpstreamSpec, timeoutMs: number): Promise<WireProbe> {
  const security = wireSecurity(upstream);
  const problems: string[] = [];
  let tlsProblems = 0;
  for (const server of upstream.bootstrapServers) {
    let conn: BrokerConnection;
    try {
      conn = await BrokerConnection.open({ ...parseHostPort(server), ...security, clientId: 'weir-doctor', connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs });
    } catch (err) {
      if (!(err instanceof ConnectError)) throw err;
      if (err.failure === 'sasl') return { outcome: 'login refused', server, reason: err.reason };
      if (err.failure === 'tls') tlsProblems++;
      problems.push(`${server}: ${err.reason}`);
      continue;
    }
    try {
      return { outcome: 'ok', server, ...(await advertisedBrokers(conn)) };
    } finally {
      conn.close();
    }
  }
  return { outcome: 'unreached', problems, tlsProblems };
}

/** host:port of each broker a Metadata request for no topic names: where the mirror's producer connects next. */
async function advertisedBrokers(conn: BrokerConnection): Promise<{ brokers: string[]; metadataProblem?: string }> {
  const version = conn.version(ApiKey.Metadata, METADATA_VERSIONS.min, METADATA_VERSIONS.max);
  if (version === undefined) return { brokers: [], metadataProblem: `it serves no Metadata version from ${METADATA_VERSIONS.min} to ${METADATA_VERSIONS.max} (Kafka 0.11 or later does)` };
  try {
    const res = await conn.request(ApiKey.Metadata, version, (w) => writeMetadataRequest(w, version, []), (r) => readMetadataResponse(r, version));
    return { brokers: res.brokers.map((b) => (b.host.includes(':') ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`)) };
  } catch (err) {
    return { brokers: [], metadataProblem: `its Metadata request failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}
