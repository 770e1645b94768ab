/**
 * The metrics HTTP listener (`[global] metrics_listen = HOST:PORT`): GET or
 * HEAD `/metrics` answers the Prometheus text format; every other path is a
 * 404 and every other method on /metrics a 405. Off unless configured.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log';
import { nullLogger } from '../log';
import type { LvsdMetrics } from './registry';

/** The listener could not be opened (address in use, not local ...); `code` is stable. */
export class MetricsListenError extends Error {
  readonly code = 'METRICS_LISTEN';
  constructor(readonly host: string, readonly port: number, cause: Error) {
    super(`cannot serve metrics on ${host.includes(':') ? `[${host}]` : host}:${port}: ${cause.message} (change or remove metrics_listen)`);
    this.name = 'MetricsListenError';
  }
}

/** Serves one {@link LvsdMetrics} over HTTP. */
export class MetricsServer {
  private readonly server: http.Server;

  constructor(private readonly metrics: LvsdMetrics, private readonly log: Logger = nullLogger) {
    this.server = http.createServer((req, res) => void this.answer(req, res));
    // A scrape is short; do not let a stuck client hold a socket for long.
    this.server.requestTimeout = 10_000;
    this.server.headersTimeout = 5_000;
  }

  /** Listens on host:port (port 0 = any); resolves with the bound address. Rejects with {@link MetricsListenError}. */
  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(new MetricsListenError(host, port, e));
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        this.server.on('error', (e) => this.log.error('metrics listener failed', { error: e.message }));
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stops listening and drops open connections. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: lvsd serves /metrics only\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    try {
      const body = await this.metrics.metrics();
      res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      this.log.error('metrics scrape failed', { error: (e as Error).message });
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`scrape failed: ${(e as Error).message}\n`);
    }
  }
}
