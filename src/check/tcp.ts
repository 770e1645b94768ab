/**
 * TCP_CHECK: a real server is up when a TCP connection to connect_ip:connect_port
 * completes within connect_timeout. The connection is closed at once (FIN); nothing is
 * sent, as keepalived's check_tcp.
 */
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { CheckResult, DEFAULT_CONNECT_TIMEOUT, TcpCheckOptions } from './types';

/**
 * Runs one TCP_CHECK attempt. Never throws or rejects. An aborted `signal` ends the
 * attempt at once with `ok: false, reason: "aborted"`.
 */
export function tcpCheck(opts: TcpCheckOptions, signal?: AbortSignal): Promise<CheckResult> {
  const t0 = performance.now();
  const timeoutMs = (opts.connect_timeout ?? DEFAULT_CONNECT_TIMEOUT) * 1000;
  return new Promise<CheckResult>((resolve) => {
    let done = false;
    let sock: net.Socket | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = (ok: boolean, reason: string): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock?.destroy();
      resolve({ ok, reason, durationMs: performance.now() - t0 });
    };
    const onAbort = (): void => finish(false, 'aborted');
    if (signal?.aborted) return finish(false, 'aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(() => finish(false, `connect timeout after ${timeoutMs} ms`), timeoutMs);
    try {
      sock = net.connect({
        host: opts.connect_ip,
        port: opts.connect_port,
        localAddress: opts.bindto,
        localPort: opts.bind_port,
      });
      sock.once('connect', () => finish(true, 'connected'));
      sock.once('error', (err: NodeJS.ErrnoException) => finish(false, err.code ?? err.message));
    } catch (err) {
      // net.connect throws synchronously on malformed options (bad port, bad address).
      finish(false, `bad options: ${(err as Error).message}`);
    }
  });
}
