/**
 * Webhooks: every `[notify.NAME] url = ...` gets a JSON POST for each VRRP
 * instance or sync-group transition and each real server going up or down:
 *
 *   { type: 'INSTANCE'|'GROUP'|'RS', name, state, previousState, reason,
 *     priority, hostname, routerId, at }
 *
 * (RS events also carry `virtualServer`; their `name` is the real server in
 * the notify_fifo form `[ip]:proto:port`. `priority` is null for GROUP and RS.)
 *
 * Contract: {@link WebhookNotifier.send} returns at once and never throws, so
 * a slow or dead receiver can never hold VRRP up. Deliveries to one URL go
 * one at a time in event order (a receiver never sees BACKUP before the
 * MASTER that preceded it); different URLs are independent. A failed attempt
 * (network error, timeout, HTTP 5xx, 408 or 429) is retried `retries` times
 * with exponential backoff (base, 2×base, 4×base … capped); any other non-2xx
 * answer is final. Every failure is logged; a queue longer than `maxQueue`
 * drops its oldest event (logged).
 *
 * Requests go straight to the URL: no proxy from the environment, no
 * redirects followed (a webhook receiver that redirects is misconfigured).
 * The URL's credentials and query (where tokens live) never reach a log line
 * or a {@link DeliveryResult}: both carry it through {@link redactUrl}.
 */
import type { AxiosError } from 'axios';
import { axios } from '../lib/axios';
import type { Notifier } from '../config/types';
import type { Logger } from '../log';
import { nullLogger } from '../log';
import { emitEvent } from '../events/emit';
import { redactText, redactUrl } from './redact';
import { NotifyRunner, type HookResult, type NotifyEvent, type NotifyRunnerOptions, type NotifyScripts } from './scripts';

/** The body POSTed to every webhook. */
export interface WebhookBody {
  readonly type: 'INSTANCE' | 'GROUP' | 'RS';
  readonly name: string;
  readonly state: string;
  readonly previousState: string | null;
  readonly reason: string | null;
  /** The effective priority for INSTANCE; null for GROUP and RS. */
  readonly priority: number | null;
  readonly hostname: string;
  readonly routerId: string;
  /** ISO 8601 wall time of the event (for the receiver; never used for protocol timing). */
  readonly at: string;
  /** RS only: the virtual server, `[vip]:proto:port` or `fwmark:N`. */
  readonly virtualServer?: string;
}

/** How one delivery ended, for logs and tests. */
export interface DeliveryResult {
  readonly notifier: string;
  /** The URL without credentials or query ({@link redactUrl}). */
  readonly url: string;
  readonly ok: boolean;
  /** Attempts made (1 + retries used). */
  readonly attempts: number;
  /** The last HTTP status, or null when no answer came. */
  readonly status: number | null;
  /** The last failure (`timeout after 5000 ms`, `ECONNREFUSED`, `HTTP 500`), null on success. */
  readonly error: string | null;
  readonly body: WebhookBody;
}

/** One HTTP attempt: resolves with the status, rejects on no answer. Injectable for tests. */
export type WebhookPost = (url: string, body: WebhookBody, timeoutMs: number) => Promise<number>;

/** Options of {@link WebhookNotifier}. */
export interface WebhookOptions {
  readonly logger?: Logger;
  readonly hostname: string;
  readonly routerId: string;
  /** First retry delay; default 500 ms. */
  readonly backoffBaseMs?: number;
  /** Longest retry delay; default 30 000 ms. */
  readonly backoffMaxMs?: number;
  /** Events kept per URL while one is being delivered; default 100. */
  readonly maxQueue?: number;
  /** Default: axios POST (JSON, no proxy, no redirects). */
  readonly post?: WebhookPost;
  /** The wall clock for `at`; default `new Date()`. */
  readonly now?: () => Date;
  /** Called after every delivery ends (tests, metrics). */
  readonly onResult?: (r: DeliveryResult) => void;
}

/** The default {@link WebhookPost}: axios, JSON body, the notifier's timeout. */
export const axiosPost: WebhookPost = async (url, body, timeoutMs) => {
  const res = await axios().post(url, body, {
    timeout: timeoutMs,
    headers: { 'content-type': 'application/json', 'user-agent': 'lvsd-webhook' },
    proxy: false,
    maxRedirects: 0,
    validateStatus: () => true,
  });
  return res.status;
};

/** Why an attempt failed, in an operator's words. */
function describe(e: unknown, timeoutMs: number): string {
  const ax = e as AxiosError;
  if (ax.code === 'ECONNABORTED' || ax.code === 'ETIMEDOUT') return `timeout after ${timeoutMs} ms`;
  // A message may quote the URL (an invalid one, a proxy's complaint).
  return redactText(ax.code ?? (e as Error).message ?? String(e));
}

/** True when an HTTP status is worth another attempt. */
function retryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

interface Queue {
  notifier: Notifier;
  pending: WebhookBody[];
  running: boolean;
  idle: Array<() => void>;
}

/** Posts events to the configured webhooks; see the file's doc. */
export class WebhookNotifier {
  private readonly queues = new Map<string, Queue>();
  private readonly log: Logger;
  private readonly post: WebhookPost;
  private identity: { hostname: string; routerId: string };
  private closed = false;
  /** Backoff waits in progress, so close() can cut them short. */
  private readonly waits = new Map<NodeJS.Timeout, () => void>();

  constructor(notifiers: Iterable<Notifier>, private readonly opts: WebhookOptions) {
    this.log = opts.logger ?? nullLogger;
    this.post = opts.post ?? axiosPost;
    this.identity = { hostname: opts.hostname, routerId: opts.routerId };
    this.setNotifiers(notifiers);
  }

  /** Replaces the webhook set (a reload); queues of URLs kept keep their pending events. */
  setNotifiers(notifiers: Iterable<Notifier>): void {
    const next = new Map<string, Notifier>();
    for (const n of notifiers) next.set(n.name, n);
    for (const name of [...this.queues.keys()]) if (!next.has(name)) this.queues.get(name)!.pending.length = 0;
    for (const [name, n] of next) {
      const q = this.queues.get(name);
      if (q) q.notifier = n;
      else this.queues.set(name, { notifier: n, pending: [], running: false, idle: [] });
    }
    for (const name of [...this.queues.keys()]) if (!next.has(name) && !this.queues.get(name)!.running) this.queues.delete(name);
  }

  /** Sets the hostname and router_id the bodies carry (a reload may change router_id). */
  setIdentity(hostname: string, routerId: string): void {
    this.identity = { hostname, routerId };
  }

  /** How many webhooks are configured. */
  get size(): number {
    return this.queues.size;
  }

  /** Queues `ev` for every webhook; returns at once, never throws. */
  send(ev: Omit<WebhookBody, 'hostname' | 'routerId' | 'at'>): void {
    try {
      if (this.closed || this.queues.size === 0) return;
      const body: WebhookBody = { ...ev, ...this.identity, at: (this.opts.now?.() ?? new Date()).toISOString() };
      const max = this.opts.maxQueue ?? 100;
      for (const q of this.queues.values()) {
        q.pending.push(body);
        if (q.pending.length > max) {
          const lost = q.pending.shift()!;
          this.log.warn('webhook queue full: oldest event dropped', { notifier: q.notifier.name, type: lost.type, name: lost.name, state: lost.state });
        }
        if (!q.running) void this.drain(q);
      }
    } catch (e) {
      this.log.error('webhook send failed', { error: (e as Error).message });
    }
  }

  /** Queues the webhook form of a notify hook event. */
  sendEvent(ev: NotifyEvent): void {
    if (ev.type === 'RS') {
      this.send({ type: 'RS', name: ev.realServer, virtualServer: ev.virtualServer, state: ev.state, previousState: ev.previousState ?? null, reason: ev.reason ?? null, priority: null });
    } else {
      this.send({ type: ev.type, name: ev.name, state: ev.state, previousState: ev.previousState ?? null, reason: ev.reason ?? null, priority: ev.type === 'INSTANCE' ? ev.priority : null });
    }
  }

  /** Resolves when every queue is empty and nothing is in flight. */
  async idle(): Promise<void> {
    await Promise.all(
      [...this.queues.values()].map((q) => (q.running || q.pending.length ? new Promise<void>((r) => q.idle.push(r)) : undefined)),
    );
  }

  /** Stops: pending events are dropped, backoff waits cut short; resolves when in-flight attempts end. */
  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queues.values()) q.pending.length = 0;
    for (const [t, wake] of this.waits) {
      clearTimeout(t);
      wake();
    }
    this.waits.clear();
    await this.idle();
  }

  private async drain(q: Queue): Promise<void> {
    q.running = true;
    try {
      while (q.pending.length && !this.closed) {
        const body = q.pending.shift()!;
        const r = await this.deliver(q.notifier, body);
        try {
          this.opts.onResult?.(r);
        } catch {
          /* a listener's failure is not a delivery failure */
        }
      }
    } finally {
      q.running = false;
      for (const r of q.idle.splice(0)) r();
    }
  }

  private async deliver(n: Notifier, body: WebhookBody): Promise<DeliveryResult> {
    const base = this.opts.backoffBaseMs ?? 500;
    const cap = this.opts.backoffMaxMs ?? 30_000;
    let status: number | null = null;
    let error: string | null = null;
    let attempt = 0;
    const url = redactUrl(n.url);
    for (;;) {
      attempt++;
      try {
        status = await this.post(n.url, body, n.timeoutMs);
        error = status >= 200 && status < 300 ? null : `HTTP ${status}`;
      } catch (e) {
        status = null;
        error = describe(e, n.timeoutMs);
      }
      const again = error !== null && (status === null || retryable(status)) && attempt <= n.retries && !this.closed;
      if (error === null) {
        this.log.debug('webhook delivered', { notifier: n.name, type: body.type, name: body.name, state: body.state, attempts: attempt });
        return { notifier: n.name, url, ok: true, attempts: attempt, status, error: null, body };
      }
      if (!again) {
        this.log.error('webhook failed', { notifier: n.name, url, type: body.type, name: body.name, state: body.state, attempts: attempt, error });
        emitEvent({ subsystem: 'notify', severity: 'error', subject: n.name, message: `webhook ${url} failed after ${attempt} attempt(s): ${error}`, fields: { notifier: n.name, url, event: `${body.type} ${body.name} ${body.state}`, attempts: attempt, status } });
        return { notifier: n.name, url, ok: false, attempts: attempt, status, error, body };
      }
      const delay = Math.min(cap, base * 2 ** (attempt - 1));
      this.log.warn('webhook attempt failed, retrying', { notifier: n.name, attempt, error, retryInMs: delay });
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.waits.delete(t);
          resolve();
        }, delay);
        this.waits.set(t, resolve);
      });
      if (this.closed) {
        this.log.error('webhook abandoned: lvsd is stopping', { notifier: n.name, type: body.type, name: body.name, state: body.state, attempts: attempt, error });
        return { notifier: n.name, url, ok: false, attempts: attempt, status, error, body };
      }
    }
  }
}

/**
 * A {@link NotifyRunner} that also sends every notify event (VRRP instance,
 * sync group, real server) to the webhooks: hand it to the Director and the
 * VRRP side in place of a plain runner, and webhooks follow the script hooks
 * without either of them knowing.
 */
export class WebhookNotifyRunner extends NotifyRunner {
  constructor(opts: NotifyRunnerOptions, readonly webhooks: WebhookNotifier) {
    super(opts);
  }

  /** Sends `ev` to the webhooks (never throws), then runs the scripts as {@link NotifyRunner.notify} does. */
  override notify(ev: NotifyEvent, scripts: NotifyScripts): Promise<HookResult[]> {
    this.webhooks.sendEvent(ev);
    return super.notify(ev, scripts);
  }
}
