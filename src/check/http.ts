/**
 * HTTP_GET and SSL_GET: `GET url_path` to connect_ip:connect_port (plain or TLS), judged
 * as keepalived does: the status must be accepted (default 2xx), then, when configured,
 * the MD5 of the body must equal `digest` and the body must match `regex`.
 *
 * The whole exchange (connect, TLS, headers, body) is bounded by connect_timeout through
 * one AbortController, and at most `max_body` bytes are read, so a server that trickles
 * its body or sends an endless one cannot hold the check. Redirects are not followed and
 * no proxy is used: the real server itself is what is judged. Without digest or regex
 * the body is not read at all: the verdict is given on the status line.
 */
import { axios } from '../lib/axios';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { CheckResult, DEFAULT_CONNECT_TIMEOUT, HttpCheckOptions, StatusRange } from './types';

/** Default cap on body bytes read (1 MiB). */
export const DEFAULT_MAX_BODY = 1 << 20;

/** A status_code that cannot be parsed; carries a stable `code`. */
export class StatusCodeSpecError extends Error {
  /** Stable error code. */
  readonly code = 'ERR_CHECK_STATUS_CODE';
  constructor(spec: string) {
    super(`status_code "${spec}": expected codes or ranges 100-599 such as "200", "200-299" or "200,301-302"`);
    this.name = 'StatusCodeSpecError';
  }
}

/**
 * Parses a status_code option into inclusive ranges. `undefined` gives 2xx. Throws
 * {@link StatusCodeSpecError} on anything else than codes/ranges within 100–599; the
 * config layer should call this up front, the probe itself reports it as a failure.
 */
export function parseStatusCodes(spec: HttpCheckOptions['status_code']): StatusRange[] {
  if (spec === undefined) return [{ from: 200, to: 299 }];
  const items: Array<number | StatusRange | string> =
    typeof spec === 'number' ? [spec] : typeof spec === 'string' ? spec.split(/[\s,]+/).filter((s) => s !== '') : [...spec];
  const out: StatusRange[] = [];
  const valid = (n: number): boolean => Number.isInteger(n) && n >= 100 && n <= 599;
  for (const it of items) {
    let r: StatusRange;
    if (typeof it === 'number') r = { from: it, to: it };
    else if (typeof it === 'string') {
      const m = /^(\d{3})(?:-(\d{3}))?$/.exec(it);
      if (!m) throw new StatusCodeSpecError(String(spec));
      r = { from: Number(m[1]), to: Number(m[2] ?? m[1]) };
    } else r = { from: it.from, to: it.to };
    if (!valid(r.from) || !valid(r.to) || r.from > r.to) throw new StatusCodeSpecError(JSON.stringify(spec));
    out.push(r);
  }
  if (out.length === 0) throw new StatusCodeSpecError(JSON.stringify(spec));
  return out;
}

/** True when `status` falls in one of `ranges`. */
export function statusAccepted(status: number, ranges: readonly StatusRange[]): boolean {
  return ranges.some((r) => status >= r.from && status <= r.to);
}

/**
 * The TLS SNI name an SSL_GET sends: `servername` if set, else the host part of
 * `virtualhost` when it is a DNS name; undefined (no SNI) for an IP literal, since
 * RFC 6066 §3 does not allow addresses in SNI.
 */
export function sniName(opts: Pick<HttpCheckOptions, 'servername' | 'virtualhost'>): string | undefined {
  if (opts.servername) return opts.servername;
  const vh = opts.virtualhost;
  if (!vh || vh.startsWith('[')) return undefined;
  const host = net.isIPv6(vh) ? vh : vh.replace(/:\d+$/, '');
  return net.isIP(host) === 0 && host !== '' ? host : undefined;
}

function hostForUrl(ip: string): string {
  return net.isIPv6(ip) ? `[${ip}]` : ip;
}

/**
 * Runs one HTTP_GET / SSL_GET attempt. Never throws or rejects; `signal` aborts it
 * (reason "aborted").
 */
export async function httpCheck(opts: HttpCheckOptions, signal?: AbortSignal): Promise<CheckResult> {
  const t0 = performance.now();
  const result = (ok: boolean, reason: string): CheckResult => ({ ok, reason, durationMs: performance.now() - t0 });
  const timeoutMs = (opts.connect_timeout ?? DEFAULT_CONNECT_TIMEOUT) * 1000;
  const maxBody = opts.max_body ?? DEFAULT_MAX_BODY;
  const tls = opts.type === 'SSL_GET';

  let ranges: StatusRange[];
  let re: RegExp | undefined;
  let ca: Buffer | undefined;
  try {
    ranges = parseStatusCodes(opts.status_code);
    re = opts.regex !== undefined ? new RegExp(opts.regex) : undefined;
    ca = tls && opts.ca_file ? fs.readFileSync(opts.ca_file) : undefined;
  } catch (err) {
    return result(false, `bad options: ${(err as Error).message}`);
  }
  const wantBody = opts.digest !== undefined || re !== undefined;

  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, timeoutMs);
  const onOuterAbort = (): void => ac.abort();
  if (signal?.aborted) ac.abort();
  signal?.addEventListener('abort', onOuterAbort, { once: true });

  // A fresh agent per attempt: no pooled connection may hide a dead server, and the
  // TLS settings (SNI, CA, verify) are per check. Agent options win over request
  // options in Node, so `servername` here is the SNI sent.
  const servername = sniName(opts);
  const agent = tls
    ? new https.Agent({
        keepAlive: false,
        localAddress: opts.bindto,
        ca,
        rejectUnauthorized: opts.verify !== false,
        // '' tells Node to send no SNI (RFC 6066 §3 forbids IP literals in SNI).
        servername: servername ?? '',
      })
    : new http.Agent({ keepAlive: false, localAddress: opts.bindto });

  const path = opts.url_path && opts.url_path.startsWith('/') ? opts.url_path : `/${opts.url_path ?? ''}`;
  const url = `${tls ? 'https' : 'http'}://${hostForUrl(opts.connect_ip)}:${opts.connect_port}${path}`;
  let stream: Readable | undefined;
  try {
    const res = await axios().request<Readable>({
      url,
      method: 'GET',
      responseType: 'stream',
      signal: ac.signal,
      proxy: false,
      maxRedirects: 0,
      decompress: false,
      validateStatus: () => true,
      httpAgent: tls ? undefined : agent,
      httpsAgent: tls ? agent : undefined,
      headers: {
        ...(opts.virtualhost ? { Host: opts.virtualhost } : {}),
        'User-Agent': 'lvsd-checker',
        // The digest is of the body as served, so ask for no content coding.
        'Accept-Encoding': 'identity',
        Connection: 'close',
      },
    });
    stream = res.data;
    const status = res.status;
    if (!statusAccepted(status, ranges)) return result(false, `status ${status}`);
    if (!wantBody) return result(true, `status ${status}`);

    const body = await readCapped(stream, maxBody, ac.signal);
    if (body === 'too-large') return result(false, `body larger than max_body ${maxBody} bytes`);
    if (body === 'aborted') return result(false, timedOut ? `timeout after ${timeoutMs} ms reading body` : 'aborted');
    if (opts.digest !== undefined) {
      const md5 = crypto.createHash('md5').update(body).digest('hex');
      if (md5 !== opts.digest.toLowerCase()) return result(false, `digest mismatch: ${md5}`);
    }
    if (re && !re.test(body.toString('utf8'))) return result(false, `regex /${opts.regex}/ not matched`);
    return result(true, `status ${status}${opts.digest ? ', digest ok' : ''}${re ? ', regex ok' : ''}`);
  } catch (err) {
    if (timedOut) return result(false, `timeout after ${timeoutMs} ms`);
    if (ac.signal.aborted) return result(false, 'aborted');
    const e = err as { code?: string; message?: string };
    return result(false, e.code ? `${e.code}${e.message ? `: ${e.message}` : ''}` : String(e.message ?? err));
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onOuterAbort);
    stream?.destroy();
    agent.destroy();
  }
}

/**
 * Reads a stream into one Buffer, giving up past `max` bytes or when `signal` aborts.
 * Rejects only on a stream error that the abort did not cause (e.g. a reset mid-body);
 * the caller turns that into a failed result.
 */
function readCapped(stream: Readable, max: number, signal: AbortSignal): Promise<Buffer | 'too-large' | 'aborted'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      signal.removeEventListener('abort', onAbort);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onAbort = (): void => {
      cleanup();
      resolve('aborted');
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > max) {
        cleanup();
        resolve('too-large');
        return;
      }
      chunks.push(c);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error): void => {
      cleanup();
      if (signal.aborted) resolve('aborted');
      else reject(err);
    };
    if (signal.aborted) return resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}
