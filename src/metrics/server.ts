/**
 * The metrics HTTP listener (`[global] metrics_listen = HOST:PORT`), read-only:
 *
 * - `/metrics`: the Prometheus text format;
 * - `/status.json`: the status page's document (status.ts);
 * - `/`, `/status.js`, `/status.css`: the status page itself, static files
 *   from `page/` beside this module (the build copies src/metrics/page there).
 *
 * GET and HEAD only (405 otherwise); every other path is a 404. Off unless
 * configured. The page's files are read on first use; when they are missing
 * (a build without the copy step) `/` says so with a 500, and /metrics and
 * /status.json still work.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
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

/** Where the status page's static files are (dist/src/metrics/page after a build). */
export const PAGE_DIR = path.join(__dirname, 'page');

/** The page's files: URL path → file name and content type. */
const PAGE_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/status.js': { file: 'status.js', type: 'text/javascript; charset=utf-8' },
  '/status.css': { file: 'status.css', type: 'text/css; charset=utf-8' },
};

/** The page loads nothing from elsewhere and runs no inline script. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/** Serves one {@link LvsdMetrics} over HTTP. */
export class MetricsServer {
  private readonly server: http.Server;
  private readonly files = new Map<string, Buffer>();

  constructor(private readonly metrics: LvsdMetrics, private readonly log: Logger = nullLogger, private readonly pageDir = PAGE_DIR) {
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

  private file(name: string): Buffer {
    let b = this.files.get(name);
    if (!b) {
      b = readFileSync(path.join(this.pageDir, name));
      this.files.set(name, b);
    }
    return b;
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const p = (req.url ?? '').split('?')[0]!;
    const page = PAGE_FILES[p];
    if (p !== '/metrics' && p !== '/status.json' && !page) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: lvsd serves /metrics, /status.json and its status page at /\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const send = (type: string, body: string | Buffer, extra: Readonly<Record<string, string>> = {}): void => {
      res.writeHead(200, { 'content-type': type, ...extra });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (page) {
      let body: Buffer;
      try {
        body = this.file(page.file);
      } catch (e) {
        this.log.error('status page file missing', { file: path.join(this.pageDir, page.file), error: (e as Error).message });
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`the status page is not installed (${path.join(this.pageDir, page.file)} missing: run "npm run build"); /metrics and /status.json still answer\n`);
        return;
      }
      send(page.type, body, { ...PAGE_HEADERS, 'cache-control': 'no-cache' });
      return;
    }
    try {
      if (p === '/status.json') {
        send('application/json; charset=utf-8', `${JSON.stringify(await this.metrics.status())}\n`, { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      } else {
        send(this.metrics.registry.contentType, await this.metrics.metrics());
      }
    } catch (e) {
      this.log.error(`${p} failed`, { error: (e as Error).message });
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${p} failed: ${(e as Error).message}\n`);
    }
  }
}
