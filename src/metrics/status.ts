/**
 * The document behind the status page: `GET /status.json` on the metrics
 * listener. Built from the same {@link MetricsSource} the metrics read, at
 * request time, as a whitelist: every field is copied by name, so whatever
 * else a status answer carries (an `auth_pass`, a webhook URL, a script's
 * command line) never reaches the page. Strings that come from outside lvsd's
 * own vocabulary (reasons, event messages) go through {@link redact}, which
 * drops URL credentials and query strings.
 *
 * The shape is a contract with the page (src/metrics/page/) and with anyone
 * scripting against it; README "Status page" and lvsd(8) document it.
 */
import type { DirectorStatus, KernelDestStatus } from '../director/status';
import type { MetricsSource, VrrpInstanceView } from './registry';

/** Bumped when a field changes meaning or goes away (adding fields does not bump it). */
export const STATUS_SCHEMA = 1;

/** How many events the document carries at most (the newest). */
export const STATUS_EVENTS = 200;

/** A tracked script or interface and what it does to the priority. */
export interface StatusTrack {
  readonly kind: 'script' | 'interface';
  readonly name: string;
  /** `up`, `down`, or whatever the status says (`init` before a first result). */
  readonly state: string;
  /** Configured weight (0: the instance goes FAULT when it fails). */
  readonly weight: number;
  /** What it adds to (or takes from) the base priority now. */
  readonly contribution: number;
}

/** One VRRP instance on the page. */
export interface StatusInstance {
  readonly name: string;
  readonly state: string;
  readonly vrid: number | null;
  readonly interface: string | null;
  readonly basePriority: number;
  readonly effectivePriority: number;
  readonly master: { readonly address: string; readonly priority: number } | null;
  readonly lastTransition: { readonly from: string; readonly to: string; readonly reason: string; readonly at: string } | null;
  readonly vips: readonly string[];
  readonly syncGroup: string | null;
  /** Empty when nothing is tracked or the status does not say. */
  readonly tracking: readonly StatusTrack[];
}

/** One real server on the page. */
export interface StatusRealServer {
  readonly name: string;
  readonly address: string;
  readonly health: 'up' | 'down';
  readonly reason: string;
  readonly configuredWeight: number;
  /** What lvsd wants in the kernel; null: out of the table. */
  readonly effectiveWeight: number | null;
  readonly override: string | null;
  readonly maintenance: boolean;
  readonly disposition: string;
  /** The kernel's entry; null: not in the table. */
  readonly kernel: {
    readonly weight: number;
    readonly activeConns: number;
    readonly inactConns: number;
    readonly conns: number;
    readonly cps: number;
    readonly inbps: number;
    readonly outbps: number;
  } | null;
}

/** One virtual server on the page. */
export interface StatusVirtualServer {
  readonly name: string;
  readonly service: string;
  readonly scheduler: string;
  readonly lbKind: string;
  readonly inKernel: boolean;
  readonly quorum: { readonly up: boolean; readonly weightSum: number; readonly quorum: number };
  readonly sorryServer: { readonly address: string; readonly active: boolean } | null;
  readonly rate: { readonly cps: number; readonly inbps: number; readonly outbps: number } | null;
  readonly realServers: readonly StatusRealServer[];
}

/** One line of the timeline. */
export interface StatusEvent {
  readonly at: string;
  /** The subsystem: `vrrp` for a VRRP transition; `check`, `reload`, `process`, `notify` ... */
  readonly kind: string;
  readonly severity: 'error' | 'warn' | 'info';
  /** What it happened to: an instance, `vs/rs`, ... */
  readonly subject: string;
  readonly from: string | null;
  readonly to: string | null;
  readonly message: string;
}

/** The whole document. */
export interface StatusDocument {
  readonly schema: typeof STATUS_SCHEMA;
  readonly generatedAt: string;
  readonly lvsd: { readonly version: string; readonly routerId: string };
  /** null: no VRRP runs, or its process did not answer. */
  readonly vrrp: { readonly instances: readonly StatusInstance[] } | null;
  /** null: no virtual servers, or the director did not answer. */
  readonly director: {
    readonly virtualServers: readonly StatusVirtualServer[];
    readonly reconciler: { readonly errors: number; readonly driftRepaired: number; readonly lastError: string | null };
    readonly syncDaemon: { readonly wanted: string | null; readonly running: string | null } | null;
    readonly kernelError: string | null;
  } | null;
  /** Oldest first, at most {@link STATUS_EVENTS}. */
  readonly events: readonly StatusEvent[];
}

/**
 * `text` without URL credentials and query strings
 * (`https://u:p@h/x?token=1` → `https://h/x`), the forms webhook secrets take.
 */
export function redact(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)(?:[^\s/@]*@)?([^\s/?#]*)([^\s?#]*)(?:[?#][^\s]*)?/gi, '$1$2$3');
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);
const num = (v: unknown, dflt = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : dflt);

/** The tracking list of an instance, from whichever of the known field names the status uses. */
function tracking(i: VrrpInstanceView): StatusTrack[] {
  const raw = (i as { tracking?: unknown; track?: unknown }).tracking ?? (i as { track?: unknown }).track;
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((t: Record<string, unknown>) => {
    const name = str(t?.name);
    if (name === null) return [];
    const kind = t.kind === 'interface' || t.type === 'interface' ? 'interface' : 'script';
    return [{ kind, name, state: str(t.state) ?? (t.up === true ? 'up' : t.up === false ? 'down' : 'unknown'), weight: num(t.weight), contribution: num(t.contribution ?? t.effect) }];
  });
}

function instance(i: VrrpInstanceView): StatusInstance {
  const t = i.lastTransition;
  return {
    name: i.name,
    state: i.state,
    vrid: typeof i.vrid === 'number' ? i.vrid : null,
    interface: i.interface ?? null,
    basePriority: i.basePriority,
    effectivePriority: i.effectivePriority,
    master: i.master ? { address: i.master.address, priority: i.master.priority } : null,
    lastTransition: t ? { from: t.from, to: t.to, reason: redact(t.reason), at: t.at } : null,
    vips: [...(i.vips ?? [])],
    syncGroup: i.syncGroup ?? null,
    tracking: tracking(i),
  };
}

function kernel(k: KernelDestStatus | null): StatusRealServer['kernel'] {
  return k ? { weight: k.weight, activeConns: k.activeConns, inactConns: k.inactConns, conns: k.conns, cps: k.cps, inbps: k.inbps, outbps: k.outbps } : null;
}

function director(d: DirectorStatus): NonNullable<StatusDocument['director']> {
  return {
    virtualServers: d.virtualServers.map((vs) => ({
      name: vs.name,
      service: vs.service,
      scheduler: vs.scheduler,
      lbKind: vs.lbKind,
      inKernel: vs.inKernel,
      quorum: { up: vs.quorum.up, weightSum: vs.quorum.weightSum, quorum: vs.quorum.quorum },
      sorryServer: vs.sorryServer ? { address: vs.sorryServer.address, active: vs.sorryServer.active } : null,
      rate: vs.stats ? { cps: vs.stats.cps, inbps: vs.stats.inbps, outbps: vs.stats.outbps } : null,
      realServers: vs.realServers.map((rs) => ({
        name: rs.name,
        address: rs.address,
        health: rs.health,
        reason: redact(rs.reason),
        configuredWeight: rs.configuredWeight,
        effectiveWeight: rs.effectiveWeight,
        override: rs.override,
        maintenance: rs.maintenance === true,
        disposition: rs.disposition,
        kernel: kernel(rs.kernel),
      })),
    })),
    reconciler: { errors: d.reconciler.errors, driftRepaired: d.reconciler.driftRepaired, lastError: d.reconciler.lastError === null ? null : redact(d.reconciler.lastError) },
    syncDaemon: d.syncDaemon ? { wanted: d.syncDaemon.wanted, running: d.syncDaemon.running } : null,
    kernelError: d.kernelError === null ? null : redact(d.kernelError),
  };
}

/**
 * One event as the page shows it. Takes the event store's records
 * (`{at, subsystem, severity, subject, message, fields}`, VRRP transitions
 * also with `instance, from, to, reason`) and the older VRRP-only records
 * (`{at, instance, from, to, reason}`); null for something without a time.
 * With a `from` and a `to`, the message is the reason alone (the page shows
 * the move itself).
 */
export function timelineEvent(e: Readonly<Record<string, unknown>>): StatusEvent | null {
  const at = typeof e.at === 'number' ? new Date(e.at).toISOString() : str(e.at);
  if (at === null) return null;
  const fields = (typeof e.fields === 'object' && e.fields !== null ? e.fields : {}) as Record<string, unknown>;
  const kind = str(e.subsystem) ?? str(e.kind) ?? str(e.type) ?? (e.instance !== undefined ? 'vrrp' : 'event');
  const subject = str(e.subject) ?? str(e.instance) ?? str(e.name) ?? '';
  const from = str(e.from) ?? str(fields.from);
  const to = str(e.to) ?? str(fields.to);
  const reason = str(e.reason) ?? str(fields.reason);
  const message = (from !== null && to !== null && reason !== null ? reason : null) ?? str(e.message) ?? reason ?? str(e.cause) ?? '';
  const severity = e.severity === 'error' || e.severity === 'warn' ? e.severity : 'info';
  return { at, kind: kind.toLowerCase(), severity, subject: redact(subject), from, to, message: redact(message) };
}

/** Builds the document from `source` (each part asked once; a part that fails is null / empty). */
export async function buildStatus(source: MetricsSource, now: () => Date = () => new Date()): Promise<StatusDocument> {
  const quiet = async <T>(f: () => Promise<T> | T): Promise<T | undefined> => {
    try {
      return await f();
    } catch {
      return undefined;
    }
  };
  const [v, d, ev] = await Promise.all([quiet(() => source.vrrp()), quiet(() => source.director()), quiet(() => source.events?.() ?? [])]);
  const info = source.info();
  const events = (ev ?? []).slice(-STATUS_EVENTS).map((e) => timelineEvent(e as Readonly<Record<string, unknown>>)).filter((e): e is StatusEvent => e !== null);
  return {
    schema: STATUS_SCHEMA,
    generatedAt: now().toISOString(),
    lvsd: { version: info.version, routerId: info.routerId },
    vrrp: v ? { instances: v.instances.map(instance) } : null,
    director: d ? director(d) : null,
    events,
  };
}
