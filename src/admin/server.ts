/**
 * The admin HTTP listener (default 127.0.0.1:9644): `/` (the status page, fed by `/api/status`),
 * `/metrics` (Prometheus text), `/healthz` (the process is alive, its event loop answers and the
 * store can write: 503 with the storage failure otherwise), `/readyz` (every component that must
 * be up is up; 503 with the reasons otherwise). Loopback by default: it has no authentication.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import type { Readiness } from './readiness.js';
import { STATUS_PAGE_HTML } from './status-page.js';
import type { StatusSnapshot } from './status.js';

export interface AdminServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export interface AdminServerDeps {
  registry: Registry;
  readiness: Readiness;
  logger: Logger;
  status: () => StatusSnapshot;
  api?: ReadonlyMap<string, () => unknown>;
  /** Undefined while healthy; otherwise what is wrong (the store's storage failure). */
  health?: () => string | undefined;
}

export async function startAdminServer(options: { host: string; port: number }, deps: AdminServerDeps): Promise<AdminServer> {
  const log = deps.logger.child({ component: 'admin' });
  const server: Server = createServer(requestHandler(deps, log));
  // Scrapers keep connections open; do not let them hold a shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  log.info({ host: address.address, port: address.port }, 'admin HTTP listening');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Routes GET and HEAD by path; anything else is 405, an unknown path 404. */
function requestHandler(deps: AdminServerDeps, log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const problem = deps.health?.();
      res.writeHead(problem === undefined ? 200 : 503, { 'content-type': 'text/plain' }).end(`${problem ?? 'ok'}\n`);
      return;
    }
    if (path === '/readyz') {
      const report = deps.readiness.report();
      res.writeHead(report.ready ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(report)}\n`);
      return;
    }
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(STATUS_PAGE_HTML);
      return;
    }
    if (path === '/api/status') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(deps.status()));
      return;
    }
    const api = path === undefined ? undefined : deps.api?.get(path);
    if (api !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(api()));
      return;
    }
    if (path === '/metrics') {
      serveMetrics(deps.registry, res, log);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /, /metrics, /healthz or /readyz\n');
  };
}

function serveMetrics(registry: Registry, res: ServerResponse, log: Logger): void {
  registry
    .metrics()
    .then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text))
    .catch((err: unknown) => {
      log.error({ err }, 'collecting metrics failed');
      res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
    });
}
