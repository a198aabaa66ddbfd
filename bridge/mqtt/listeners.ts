/**
 * The sockets in front of aedes: a plain TCP listener and an optional TLS one. Both apply the
 * same per-connection limits before a byte reaches aedes: `mqtt.max_connections` (the extra
 * connection is closed at once) and `mqtt.max_packet_size` (checked at each fixed header).
 */
import type { Aedes } from 'aedes';
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { WeirError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { memoryGuard } from '../../src/memory-guard.js';
import { FrameGuard } from './frame-guard.js';
import type { ConnectionStats } from './stats.js';
import { WarnLimiter } from './warn-limiter.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface TlsListenerOptions {
  listen: HostPort;
  certFile: string;
  keyFile: string;
  /** CA bundle that client certificates must chain to. */
  caFile: string | undefined;
  /** Clients must present a certificate signed by `caFile`; its CN becomes their username. */
  requireClientCert: boolean;
}

export interface ConnectionLimits {
  maxConnections: number;
  maxPacketSize: number;
}

/**
 * Accepts connections of every listener into aedes, under one shared connection count. A
 * WebSocket connection arrives as the Duplex of its MQTT byte stream, with its HTTP request.
 */
export function connectionHandler(
  broker: Aedes, streams: Set<Duplex>, limits: ConnectionLimits, conns: ConnectionStats, log: Logger,
): (stream: Duplex, req?: IncomingMessage) => void {
  const refusals = new WarnLimiter(log);
  const oversize = new WarnLimiter(log);
  return (stream, req) => {
    if (!memoryGuard.admit(stream)) return; // near MemoryHigh=: refused; otherwise unread while memory is short
    const remote = stream instanceof net.Socket ? stream.remoteAddress : req?.socket.remoteAddress;
    if (streams.size >= limits.maxConnections) {
      conns.rejectedMaxConnections++;
      refusals.warn({ remote, maxConnections: limits.maxConnections, refused: conns.rejectedMaxConnections }, 'refusing connection: mqtt.max_connections reached');
      stream.destroy();
      return;
    }
    conns.accepted++;
    streams.add(stream);
    stream.once('close', () => streams.delete(stream));
    // Nagle would hold a PUBACK back ~40 ms waiting for more bytes to coalesce with (ws sets
    // TCP_NODELAY on its own sockets).
    if (stream instanceof net.Socket) stream.setNoDelay(true);
    guardFrames(stream, limits.maxPacketSize, (why) => {
      conns.closedOversize++;
      oversize.warn({ remote, why }, 'closing connection: packet over the limit');
    });
    broker.handle(stream, req);
  };
}

/**
 * MQTT over WebSockets (MQTT 3.1.1 §6): binary frames carrying the MQTT byte stream, with the
 * subprotocol "mqtt" [MQTT-6.0.0-3]. A WebSocket message may carry at most one packet's worth
 * plus its header; the frame guard still checks each fixed header in the stream.
 */
export function createWsServer(onConnection: (stream: Duplex, req: IncomingMessage) => void, maxPacketSize: number, log: Logger): http.Server {
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: upgrade required\n');
  });
  const wss = new WebSocketServer({
    server,
    maxPayload: maxPacketSize + 5,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
  });
  wss.on('connection', (ws, req) => onConnection(createWebSocketStream(ws), req));
  wss.on('error', (err) => log.error({ err }, 'MQTT WebSocket listener error'));
  server.on('close', () => wss.close());
  return server;
}

/**
 * aedes reads a connection only through `socket.read()` (lib/client.js `nextBatch`), so wrapping
 * it sees every byte before mqtt-packet buffers it, without switching the socket to flowing mode.
 */
function guardFrames(socket: Duplex, maxPacketSize: number, onBreach: (why: string) => void): void {
  const guard = new FrameGuard(maxPacketSize);
  const read = socket.read.bind(socket);
  socket.read = (size?: number): Buffer | null => {
    const chunk = read(size) as Buffer | null;
    if (chunk === null || socket.destroyed) return chunk;
    const why = guard.feed(chunk);
    if (why === undefined) return chunk;
    onBreach(why);
    socket.destroy();
    return null;
  };
}

function readPem(file: string, field: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new WeirError('CONFIG_INVALID', `${field}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      cause: err, details: { field, file },
    });
  }
}

export function createTlsServer(options: TlsListenerOptions, onConnection: (socket: Duplex) => void, conns: ConnectionStats, log: Logger): tls.Server {
  const cert = readPem(options.certFile, 'mqtt.tls_cert_file');
  const key = readPem(options.keyFile, 'mqtt.tls_key_file');
  const ca = options.caFile === undefined ? undefined : readPem(options.caFile, 'mqtt.tls_ca_file');
  let server: tls.Server;
  try {
    server = tls.createServer({
      cert, key, ...(ca === undefined ? {} : { ca }),
      requestCert: options.requireClientCert,
      rejectUnauthorized: options.requireClientCert,
      minVersion: 'TLSv1.2',
    }, onConnection);
  } catch (err) {
    throw new WeirError('CONFIG_INVALID', `mqtt.tls_cert_file / mqtt.tls_key_file: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err, details: { field: 'mqtt.tls_cert_file' },
    });
  }
  server.on('tlsClientError', (err, socket) => {
    conns.tlsHandshakeFailed++;
    log.info({ remote: socket.remoteAddress, err: err.message }, 'TLS handshake failed');
  });
  return server;
}

export async function listen(server: net.Server, at: HostPort, log: Logger, what: string): Promise<HostPort> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, `${what} listener error`));
  const bound = server.address() as net.AddressInfo;
  return { host: bound.address, port: bound.port };
}
