/**
 * BIRD watched from lvsd: every poll reads `show protocols all` (and `show
 * bfd sessions` when BFD is expected) and keeps the last answer; a BIRD that
 * is down or refuses is asked again after 1, 2, 4 ... 30 s. Changes (BIRD
 * up/down, a BGP protocol leaving or reaching Established, a BGP protocol
 * without a BFD session Up) go to `onChange` as lines for events and logs.
 * Read-only: nothing here ever changes BIRD, the routes or IPVS.
 */
import type { Clock, TimerHandle } from '../lib/clock';
import type { BirdTransport } from './bird';
import { parseBfdSessions, parseBgpProtocols, type BfdSession, type BgpProtocol } from './reply';

/** What lvsd knows of BIRD. */
export interface BirdSnapshot {
  /** Whether the last poll got answers. */
  readonly up: boolean;
  /** Why not, when not. */
  readonly error?: string;
  readonly errorCode?: string;
  /** Monotonic ms of the last poll (0: none yet). */
  readonly polledAt: number;
  /** The greeting (`BIRD 2.0.12 ready.`) of the connection, when known. */
  readonly version?: string;
  readonly protocols: readonly BgpProtocol[];
  readonly bfdSessions: readonly BfdSession[];
  /** BGP protocols without a BFD session Up to their neighbour (when BFD is expected). */
  readonly bfdMissing: readonly string[];
}

/** A change worth an event. */
export interface BirdChange {
  readonly severity: 'error' | 'warn' | 'info';
  /** The protocol, or `bird`. */
  readonly subject: string;
  readonly message: string;
}

/** Options of {@link BirdMonitor}. */
export interface BirdMonitorOptions {
  readonly transport: BirdTransport;
  readonly clock: Clock;
  /** Expect BFD sessions. */
  readonly bfd: boolean;
  /** Poll period while BIRD answers. Default 2000 ms. */
  readonly intervalMs?: number;
  /** Longest wait between retries while it does not. Default 30000 ms. */
  readonly maxBackoffMs?: number;
  readonly onChange?: (c: BirdChange) => void;
}

/** The first retry delay after a failure, doubled per failure up to maxBackoffMs. */
export const BIRD_RETRY_FIRST_MS = 1000;

/** Which BGP protocols have no BFD session Up to their neighbour. */
export function bfdMissing(protocols: readonly BgpProtocol[], sessions: readonly BfdSession[]): string[] {
  const up = new Set(sessions.filter((s) => s.state === 'Up').map((s) => s.address));
  return protocols.filter((p) => p.state !== 'down' && (!p.neighborAddress || !up.has(p.neighborAddress))).map((p) => p.name);
}

/** Polls BIRD; see the file's doc. */
export class BirdMonitor {
  private snap: BirdSnapshot = { up: false, error: 'not polled yet', polledAt: 0, protocols: [], bfdSessions: [], bfdMissing: [] };
  private timer: TimerHandle | undefined;
  private failures = 0;
  private stopped = false;
  private polling: Promise<void> | undefined;
  /** Polls that got answers, and that failed. */
  readonly counts = { ok: 0, failed: 0 };

  constructor(private readonly o: BirdMonitorOptions) {}

  /** The last snapshot. */
  get snapshot(): BirdSnapshot {
    return this.snap;
  }

  /** Polls now and then on the schedule. */
  start(): Promise<void> {
    return this.pollNow();
  }

  /** One poll now (a second request while one runs joins it). */
  pollNow(): Promise<void> {
    this.polling ??= this.poll().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  stop(): void {
    this.stopped = true;
    this.o.clock.clear(this.timer);
    this.timer = undefined;
    this.o.transport.close();
  }

  private async poll(): Promise<void> {
    const before = this.snap;
    let next: BirdSnapshot;
    try {
      const protocols = parseBgpProtocols(await this.o.transport.command('show protocols all'));
      const bfdSessions = this.o.bfd ? parseBfdSessions(await this.o.transport.command('show bfd sessions')) : [];
      const greeting = (this.o.transport as { greeting?: string }).greeting;
      next = { up: true, polledAt: this.o.clock.now(), ...(greeting ? { version: greeting } : {}), protocols, bfdSessions, bfdMissing: this.o.bfd ? bfdMissing(protocols, bfdSessions) : [] };
      this.failures = 0;
      this.counts.ok++;
    } catch (e) {
      const err = e as Error & { code?: string };
      // What BIRD last said stays visible, marked as old by `up: false`.
      next = { ...before, up: false, error: err.message, ...(err.code ? { errorCode: err.code } : {}), polledAt: this.o.clock.now() };
      this.failures++;
      this.counts.failed++;
    }
    this.snap = next;
    if (this.stopped) return;
    for (const c of diffSnapshots(before, next)) this.o.onChange?.(c);
    const delay = next.up ? (this.o.intervalMs ?? 2000) : Math.min(BIRD_RETRY_FIRST_MS * 2 ** (this.failures - 1), this.o.maxBackoffMs ?? 30_000);
    this.o.clock.clear(this.timer);
    this.timer = this.o.clock.at(this.o.clock.now() + delay, () => void this.pollNow());
  }
}

/** The changes between two snapshots, as event lines. Pure. */
export function diffSnapshots(a: BirdSnapshot, b: BirdSnapshot): BirdChange[] {
  const out: BirdChange[] = [];
  const first = a.polledAt === 0;
  if (!b.up) {
    if (a.up || first || a.errorCode !== b.errorCode) out.push({ severity: 'error', subject: 'bird', message: `BIRD cannot be read: ${b.error}; retrying (VIP routes stay in the table, VRRP and IPVS carry on)` });
    return out;
  }
  if (!a.up && !first) out.push({ severity: 'info', subject: 'bird', message: `BIRD answers again${b.version ? ` (${b.version})` : ''}` });
  const old = new Map(a.protocols.map((p) => [p.name, p]));
  for (const p of b.protocols) {
    const o = old.get(p.name);
    const wasUp = o?.bgpState === 'Established';
    const isUp = p.bgpState === 'Established';
    if (o === undefined && first && isUp) continue;
    if (wasUp === isUp && o !== undefined) continue;
    if (isUp) out.push({ severity: 'info', subject: p.name, message: `BGP session Established${p.neighborAddress ? ` with ${p.neighborAddress}` : ''}` });
    else out.push({ severity: 'error', subject: p.name, message: `BGP session ${p.bgpState || p.state}${p.lastError ? ` (${p.lastError})` : ''}: routes are not exported to ${p.neighborAddress ?? 'this peer'}` });
  }
  const was = new Set(a.up ? a.bfdMissing : []);
  for (const n of b.bfdMissing) {
    if (!was.has(n)) {
      const p = b.protocols.find((x) => x.name === n);
      out.push({ severity: 'warn', subject: n, message: `no BFD session Up to ${p?.neighborAddress ?? 'its neighbour'}: a dead peer is noticed only at the BGP hold time` });
    }
  }
  for (const n of was) if (!b.bfdMissing.includes(n) && b.protocols.some((p) => p.name === n)) out.push({ severity: 'info', subject: n, message: 'BFD session Up' });
  return out;
}
