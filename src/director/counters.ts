/**
 * The kernel figures of a status answer (`lvsctl show services`, the status
 * page, every Prometheus scrape): the reconciler's snapshot of the table plus
 * one batched read of the kernel's counters, never one dump per service.
 *
 * Per answer, on the reader's own socket ({@link Ipvs.reader}):
 * - one IPVS_CMD_GET_SERVICE dump: which services exist, with their counters
 *   and rates (one request message, whatever the table's size);
 * - one read of `/proc/net/ip_vs` (no netlink message): every dest with its
 *   forwarding method, weight and active/inactive connections.
 *
 * A dest's traffic figures (connections, packets and bytes since added, the
 * kernel's rate estimates, persistent connections) exist only in a
 * GET_DEST dump, one per service. Those are re-read in the background, one
 * service after the other on the reader's socket, at most once per
 * {@link DEST_STATS_REFRESH_MS} and only while status is asked for; an
 * answer shows the last figures read with their age (`statsAgeMs`). Until a
 * service's first background read, its dests' figures are the reconciler's
 * last read of them (age unknown: null).
 */
import { destKeyId, serviceKeyId } from '../kernel/ipvs/addr';
import type { ProcDest } from '../kernel/ipvs/proc';
import type { Ipvs, IpvsDestEntry, IpvsDestStats, IpvsReader, IpvsServiceEntry, ServiceKey } from '../kernel/ipvs/types';
import type { Clock } from '../lib/clock';
import type { ObservedService } from '../reconcile/diff';
import type { AgedDestEntry, KernelCountersStatus } from './status';

/** How often the per-dest traffic figures are re-read in the background, at most (ms). */
export const DEST_STATS_REFRESH_MS = 10_000;

const ZERO: IpvsDestStats = { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0, cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0, activeConns: 0, inactConns: 0, persistConns: 0 };

/** Whether snapshot dest `d` is the dest of /proc line `pd` (the proc's address is canonical; the snapshot's is the kernel's, canonical too). */
function sameDest(d: IpvsDestEntry | undefined, pd: ProcDest): boolean {
  return d !== undefined && d.port === pd.port && (d.address === pd.address || destKeyId(d) === `${pd.address}/${pd.port}`);
}

/** One status answer's kernel part. */
export interface KernelRead {
  /** The managed services in the kernel, with their dests and figures. */
  readonly observed: readonly ObservedService[];
  /** Set when the services dump failed: the figures are then the snapshot's. */
  readonly kernelError: string | null;
  readonly counters: KernelCountersStatus;
}

interface CachedDests {
  /** Monotonic ms of the read. */
  readonly at: number;
  readonly stats: ReadonlyMap<string, IpvsDestStats>;
}

/** Reads the kernel part of status answers; see the file's doc. */
export class KernelCounters {
  private readonly cache = new Map<string, CachedDests>();
  private lastSweepAt: number | null = null;
  private sweeping: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly ipvs: Ipvs,
    private readonly clock: Clock,
    private readonly refreshMs = DEST_STATS_REFRESH_MS,
  ) {}

  private get reader(): IpvsReader {
    return this.ipvs.reader?.() ?? this.ipvs;
  }

  /**
   * The managed services (`managed`: service ids) as the kernel has them now:
   * one services dump and one /proc read, over `snapshot` (the reconciler's
   * last table) for what those do not carry. Never rejects: when the dump
   * fails, the snapshot with `kernelError`.
   */
  async read(snapshot: readonly ObservedService[], managed: ReadonlySet<string>): Promise<KernelRead> {
    const r = this.reader;
    const [services, proc] = await Promise.all([
      r.services().then(
        (s): IpvsServiceEntry[] | Error => s,
        (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
      ),
      r.connections ? r.connections().catch(() => null) : Promise.resolve(null),
    ]);
    const now = this.clock.now();
    const snap = new Map(snapshot.map((o) => [serviceKeyId(o.service.key), o]));
    let maxAge: number | null = 0;
    const age = (a: number | null): void => {
      maxAge = a === null || maxAge === null ? null : Math.max(maxAge, a);
    };
    const out: ObservedService[] = [];
    if (services instanceof Error) {
      for (const o of snapshot) out.push({ service: o.service, dests: o.dests.map((d) => this.aged(serviceKeyId(o.service.key), d, now, age)) });
      return { observed: out, kernelError: services.message, counters: this.status('last-known', 'snapshot', maxAge) };
    }
    const toSweep: ServiceKey[] = [];
    for (const s of services) {
      const id = serviceKeyId(s.key);
      if (!managed.has(id) && !snap.has(id)) continue;
      toSweep.push(s.key);
      const known = snap.get(id);
      const p = proc?.find(s.key);
      if (p) {
        const before = known?.dests ?? [];
        const cached = this.cache.get(id);
        // /proc/net/ip_vs and a dest dump list a service's dests in the same order (svc->destinations).
        out.push({ service: s, dests: p.dests.map((pd, i) => this.fromProc(cached, pd, sameDest(before[i], pd) ? before[i] : before.find((d) => sameDest(d, pd)), s.key.family, now, age)) });
      } else out.push({ service: s, dests: (known?.dests ?? []).map((d) => this.aged(id, d, now, age)) });
    }
    this.maybeSweep(toSweep, now);
    return { observed: out, kernelError: null, counters: this.status('fresh', proc ? 'fresh' : 'snapshot', maxAge) };
  }

  /** Stops background reads (a running one ends after its current dump). */
  stop(): void {
    this.stopped = true;
  }

  /** Resolves when no background read runs (for tests and benchmarks). */
  async idle(): Promise<void> {
    while (this.sweeping) await this.sweeping;
  }

  private status(services: KernelCountersStatus['services'], connections: KernelCountersStatus['connections'], maxAge: number | null): KernelCountersStatus {
    // Without a reader (the in-memory table of --dry-run) nothing is read in the background.
    return { services, connections, destStatsMaxAgeMs: maxAge === null ? null : Math.round(maxAge), destStatsRefreshMs: this.ipvs.reader ? this.refreshMs : 0 };
  }

  /** Traffic figures of dest `destId` of service `id`: the background read's, else the snapshot's (`fallback`). */
  private traffic(id: string, destId: string, fallback: IpvsDestStats | undefined, now: number): { stats: IpvsDestStats; ageMs: number | null } {
    const c = this.cache.get(id);
    const cached = c?.stats.get(destId);
    if (c && cached) return { stats: cached, ageMs: now - c.at };
    return { stats: fallback ?? ZERO, ageMs: null };
  }

  private aged(id: string, d: IpvsDestEntry, now: number, age: (a: number | null) => void): AgedDestEntry {
    const t = this.traffic(id, destKeyId(d), d.stats, now);
    age(t.ageMs);
    // Connection counts come with the traffic figures here: one read, one age.
    return { ...d, stats: t.stats, statsAgeMs: t.ageMs };
  }

  private fromProc(cached: CachedDests | undefined, pd: ProcDest, before: IpvsDestEntry | undefined, svcFamily: number, now: number, age: (a: number | null) => void): AgedDestEntry {
    // A ProcDest's address is canonical already: its key without destKeyId's canonicalisation.
    const hit = cached?.stats.get(`${pd.address}/${pd.port}`);
    const t = cached && hit ? { stats: hit, ageMs: now - cached.at } : { stats: before?.stats ?? ZERO, ageMs: null };
    age(t.ageMs);
    const s = t.stats;
    // Built field by field (no spread): 10,000 of these per answer.
    const stats: IpvsDestStats = {
      conns: s.conns,
      inpkts: s.inpkts,
      outpkts: s.outpkts,
      inbytes: s.inbytes,
      outbytes: s.outbytes,
      cps: s.cps,
      inpps: s.inpps,
      outpps: s.outpps,
      inbps: s.inbps,
      outbps: s.outbps,
      activeConns: pd.activeConns,
      inactConns: pd.inactConns,
      persistConns: s.persistConns,
    };
    const d: { -readonly [K in keyof AgedDestEntry]: AgedDestEntry[K] } = {
      address: pd.address,
      port: pd.port,
      fwdMethod: pd.fwdMethod,
      weight: pd.weight,
      upperThreshold: before?.upperThreshold ?? 0,
      lowerThreshold: before?.lowerThreshold ?? 0,
      stats,
      statsAgeMs: t.ageMs,
    };
    if (before?.tunType !== undefined) d.tunType = before.tunType;
    if (before?.tunPort !== undefined) d.tunPort = before.tunPort;
    if (before?.tunFlags !== undefined) d.tunFlags = before.tunFlags;
    if (pd.family !== svcFamily) d.family = pd.family;
    return d;
  }

  /** Starts a background read of every service's dests when the last one is older than the refresh period. */
  private maybeSweep(keys: readonly ServiceKey[], now: number): void {
    if (this.stopped || this.sweeping || !this.ipvs.reader) return;
    if (this.lastSweepAt !== null && now - this.lastSweepAt < this.refreshMs) return;
    this.lastSweepAt = now;
    this.sweeping = this.sweep(keys).finally(() => {
      this.sweeping = null;
    });
  }

  private async sweep(keys: readonly ServiceKey[]): Promise<void> {
    const r = this.reader;
    const ids = new Set<string>();
    for (const key of keys) {
      if (this.stopped) return;
      const id = serviceKeyId(key);
      ids.add(id);
      try {
        const dests = await r.dests(key);
        this.cache.set(id, { at: this.clock.now(), stats: new Map(dests.map((d) => [destKeyId(d), d.stats ?? ZERO])) });
      } catch (e) {
        // A closed client ends the sweep; a service deleted meanwhile (ESRCH) or a failed dump keeps its last figures.
        if ((e as Error).name === 'IpvsClosedError') return;
      }
    }
    for (const id of [...this.cache.keys()]) if (!ids.has(id)) this.cache.delete(id);
  }
}
