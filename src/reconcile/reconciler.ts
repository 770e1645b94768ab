/**
 * The reconciler: reads the kernel's IPVS table, diffs it against the
 * desired one ({@link diffIpvs}) and applies the ops through {@link Ipvs},
 * with keepalived's tolerances:
 * - EEXIST on an add is success (it is there already);
 * - ENOENT / ESRCH on a delete is success (it is gone already);
 * - an edit failing with ENOENT (dest) / ESRCH (service) becomes an add.
 *
 * A netlink error never escapes: it is logged, counted, and the whole pass
 * is retried after a growing delay on the injected clock (1 s doubling to
 * 30 s); a retry re-reads the kernel.
 * Passes never overlap: a request during a pass runs one more pass after it.
 *
 * Reads: start, audit and retry passes read the whole table (one dest dump per
 * managed service). A change pass (health, reload, drain…) diffs against the
 * table as the previous pass left it, re-reading only the services it wrote,
 * so a change costs netlink work in proportion to the change, not the table;
 * hand-made drift is found by the audit (every minute by default).
 *
 * Ownership: only services whose key is in the managed set are read closely
 * and changed. The set holds the desired keys plus the keys of services that
 * left the configuration, until their deletion succeeds. Nothing is ever
 * flushed: at start the kernel table is adopted and only the difference is
 * applied, so a restart keeps the connections of healthy real servers.
 */
import { formatDestKey, formatServiceKey, serviceKeyId } from '../kernel/ipvs/addr';
import type { Ipvs, IpvsDest, IpvsOp, IpvsOpResult, IpvsService, ServiceKey } from '../kernel/ipvs/types';
import type { Clock, TimerHandle } from '../lib/clock';
import type { Logger } from '../log';
import type { AuditSchedule } from './audit';
import { diffIpvs, type DesiredServiceLike, type ObservedService } from './diff';

/** Kernel answers that mean the op's goal holds already (keepalived's tolerances). */
const TOLERATED: Readonly<Record<IpvsOp['op'], readonly string[]>> = {
  addService: ['EEXIST'],
  editService: [],
  delService: ['ESRCH', 'ENOENT'],
  addDest: ['EEXIST'],
  editDest: [],
  delDest: ['ENOENT', 'ESRCH'],
};

/** Why a pass ran, for logs. */
export type PassReason = 'change' | 'audit' | 'retry' | 'start';

/** What one pass did. */
export interface PassResult {
  readonly reason: PassReason;
  /** The ops the diff produced. */
  readonly ops: readonly IpvsOp[];
  /** How many of them succeeded (tolerated errors count as success). */
  readonly applied: number;
  /** Errors, as messages; non-empty = a retry is scheduled. */
  readonly errors: readonly string[];
}

/** Counters for status and metrics. */
export interface ReconcilerStats {
  readonly passes: number;
  readonly audits: number;
  /** Ops applied successfully since start. */
  readonly opsApplied: number;
  /** Ops that changed something during an audit (hand-made drift repaired). */
  readonly driftRepaired: number;
  /** Failed ops and failed kernel reads. */
  readonly errors: number;
  readonly lastError: string | null;
  /** Monotonic time (ms) of the last pass that ended without errors. */
  readonly lastSuccessAt: number | null;
  /** Number of managed service keys. */
  readonly managed: number;
}

/** Constructor options of {@link Reconciler}. */
export interface ReconcilerOptions {
  readonly ipvs: Ipvs;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Service keys (ids) already owned (e.g. known from before a restart); default none. */
  readonly managed?: Iterable<string>;
}

const code = (e: unknown): string | undefined => (e as { code?: string })?.code;

/** A readable one-line description of an op, for logs. */
export function describeOp(op: IpvsOp): string {
  const d = (x: IpvsDest): string => `${formatDestKey(x)} ${x.fwdMethod} weight ${x.weight}${x.upperThreshold || x.lowerThreshold ? ` thresholds ${x.lowerThreshold}-${x.upperThreshold}` : ''}`;
  const s = (x: IpvsService): string =>
    `${formatServiceKey(x.key)} ${x.scheduler}${x.flags.persistent ? ` persistent ${x.timeoutS}s /${x.netmask}` : ''}${x.flags.onePacket ? ' ops' : ''}`;
  switch (op.op) {
    case 'addService':
      return `add service ${s(op.service)}`;
    case 'editService':
      return `edit service ${s(op.service)}`;
    case 'delService':
      return `delete service ${formatServiceKey(op.key)}`;
    case 'addDest':
      return `add dest ${d(op.dest)} to ${formatServiceKey(op.key)}`;
    case 'editDest':
      return `edit dest ${d(op.dest)} of ${formatServiceKey(op.key)}`;
    case 'delDest':
      return `delete dest ${formatDestKey(op.dest)} from ${formatServiceKey(op.key)}`;
  }
}

/** Keeps the kernel's IPVS table equal to the desired one. */
export class Reconciler {
  private readonly ipvs: Ipvs;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private desired: readonly DesiredServiceLike[] = [];
  private readonly managed = new Set<string>();
  private running: Promise<PassResult> | null = null;
  private queued: { promise: Promise<PassResult>; reason: PassReason } | null = null;
  private retryTimer?: TimerHandle;
  private retryMs = 0;
  private audit?: AuditSchedule;
  private stopped = false;
  private observed: ObservedService[] = [];
  /**
   * The whole table as this reconciler left it at the end of its last pass (its own
   * writes re-read), or null when that cannot be trusted (no pass yet, a failed op or
   * read). A 'change' pass diffs against it instead of re-reading the kernel: O(changes)
   * netlink work where a full read costs one dest dump per service (1,000 dumps for
   * 1,000 services). Hand-made drift is the audit's to find: audit, retry and start
   * passes always read the kernel.
   */
  private snapshot: ObservedService[] | null = null;
  private snapshotIds = new Set<string>();
  private counters = { passes: 0, audits: 0, opsApplied: 0, driftRepaired: 0, errors: 0, lastError: null as string | null, lastSuccessAt: null as number | null };

  constructor(opts: ReconcilerOptions) {
    this.ipvs = opts.ipvs;
    this.logger = opts.logger;
    this.clock = opts.clock;
    for (const k of opts.managed ?? []) this.managed.add(k);
  }

  /**
   * Sets the desired table. Keys of services that leave it stay managed
   * until deleted. Does not run a pass: call {@link pass}.
   */
  setDesired(desired: readonly DesiredServiceLike[]): void {
    this.desired = desired;
    for (const d of desired) {
      const id = serviceKeyId(d.service.key);
      // A service the snapshot holds as foreign (its dests unread) is adopted: read it.
      if (!this.managed.has(id) && this.snapshotIds.has(id)) this.setSnapshot(null);
      this.managed.add(id);
    }
  }

  /** The ids of the service keys lvsd owns now. */
  managedKeys(): ReadonlySet<string> {
    return this.managed;
  }

  /** Stops managing `key` (it will be left alone from now on). */
  forget(key: ServiceKey): void {
    this.managed.delete(serviceKeyId(key));
  }

  /** The managed services as last read from the kernel (with their counters), in dump order. */
  lastObserved(): readonly ObservedService[] {
    return this.observed;
  }

  /** Counters. */
  stats(): ReconcilerStats {
    return { ...this.counters, managed: this.managed.size };
  }

  /**
   * Runs a pass: read, diff, apply. Never rejects. When a pass is running,
   * one more pass is queued after it (requests during it share that one).
   */
  pass(reason: PassReason = 'change'): Promise<PassResult> {
    if (this.stopped) return Promise.resolve({ reason, ops: [], applied: 0, errors: ['reconciler stopped'] });
    if (!this.running) {
      this.running = this.runPass(reason).finally(() => {
        this.running = null;
      });
      return this.running;
    }
    if (!this.queued) {
      const after = this.running;
      const promise = after.then(() => {
        const q = this.queued!;
        this.queued = null;
        return this.pass(q.reason);
      });
      this.queued = { promise, reason };
    } else if (reason !== 'audit') this.queued.reason = reason;
    return this.queued.promise;
  }

  /** Reads the managed services (with dests and counters) from the kernel; rejects on a netlink error. */
  async observe(): Promise<ObservedService[]> {
    return this.read(new Map());
  }

  /**
   * One services dump, then a dest dump per managed service, except those in `known`,
   * whose dests (and counters) are taken from there.
   */
  private async read(known: ReadonlyMap<string, ObservedService>): Promise<ObservedService[]> {
    const services = await this.ipvs.services();
    const out: ObservedService[] = [];
    // One dump at a time: the kernel runs one netlink dump per socket (EBUSY otherwise).
    for (const service of services) {
      const id = serviceKeyId(service.key);
      if (!this.managed.has(id)) {
        out.push({ service, dests: [] });
        continue;
      }
      const prev = known.get(id);
      if (prev) {
        out.push({ service, dests: prev.dests });
        continue;
      }
      try {
        out.push({ service, dests: await this.ipvs.dests(service.key) });
      } catch (e) {
        // Deleted between the two dumps: it is simply not there.
        if (code(e) !== 'ESRCH') throw e;
      }
    }
    return out;
  }

  /** Starts the periodic audit on `schedule` (replacing one already running). */
  startAudit(schedule: AuditSchedule): void {
    this.audit?.stop();
    this.audit = schedule;
    schedule.start(() => void this.pass('audit'));
    this.logger.info('ipvs audit scheduled', { schedule: schedule.description });
  }

  /** Stops the audit and any retry; later passes do nothing. Waits for a running pass. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.audit?.stop();
    this.audit = undefined;
    this.clock.clear(this.retryTimer);
    this.retryTimer = undefined;
    if (this.queued) await this.queued.promise;
    else if (this.running) await this.running;
  }

  private async runPass(reason: PassReason): Promise<PassResult> {
    this.counters.passes++;
    if (reason === 'audit') this.counters.audits++;
    let observed: ObservedService[];
    const trusted = reason === 'change' ? this.snapshot : null;
    this.setSnapshot(null);
    try {
      observed = trusted ?? (await this.observe());
    } catch (e) {
      const msg = `reading the IPVS table: ${(e as Error).message}`;
      this.fail(msg);
      return { reason, ops: [], applied: 0, errors: [msg] };
    }
    const ops = diffIpvs(this.desired, observed, this.managed);
    const errors: string[] = [];
    let applied = 0;
    if (ops.length > 0 && reason === 'audit') {
      this.logger.warn('ipvs audit found drift; repairing', { ops: ops.length });
    }
    // One batch through the client's windowed apply (thousands of objects in
    // seconds), then keepalived's tolerances on the per-op results.
    const done = (op: IpvsOp): void => {
      applied++;
      if (op.op === 'delService') this.managed.delete(serviceKeyId(op.key));
      const fields = { reason };
      if (reason === 'audit') this.logger.warn(`ipvs repaired: ${describeOp(op)}`, fields);
      else this.logger.info(`ipvs: ${describeOp(op)}`, fields);
    };
    const failed = (op: IpvsOp, e: unknown): void => {
      const err = `${describeOp(op)}: ${(e as Error).message}`;
      errors.push(err);
      this.fail(err);
    };
    let results: IpvsOpResult[];
    try {
      results = ops.length ? await this.ipvs.apply(ops) : [];
    } catch (e) {
      // The socket itself failed: nothing is known of these ops; the retry re-reads the kernel.
      const msg = `applying ${ops.length} IPVS change(s): ${(e as Error).message}`;
      this.fail(msg);
      return { reason, ops, applied: 0, errors: [msg] };
    }
    const second: IpvsOp[] = [];
    ops.forEach((op, i) => {
      const r = results[i];
      if (!r || r.ok) return r ? done(op) : failed(op, new Error('no answer'));
      const c = code(r.error);
      if (TOLERATED[op.op].includes(c ?? '')) return done(op);
      // An edit of something that vanished becomes an add.
      if (op.op === 'editService' && c === 'ESRCH') return void second.push({ op: 'addService', service: op.service });
      if (op.op === 'editDest' && c === 'ENOENT') return void second.push({ op: 'addDest', key: op.key, dest: op.dest });
      failed(op, r.error);
    });
    if (second.length) {
      for (const op of second) {
        const err = await this.applyOne(op);
        if (err) {
          errors.push(err);
          this.fail(err);
        } else done(op);
      }
    }
    this.counters.opsApplied += applied;
    if (reason === 'audit') this.counters.driftRepaired += applied;
    // Managed keys whose service is gone and no longer desired: nothing left to own.
    const present = new Set(observed.map((o) => serviceKeyId(o.service.key)));
    const desiredIds = new Set(this.desired.map((d) => serviceKeyId(d.service.key)));
    for (const id of [...this.managed]) if (!present.has(id) && !desiredIds.has(id)) this.managed.delete(id);
    let after: ObservedService[] | null = observed;
    try {
      if (ops.length > 0) after = errors.length === 0 ? await this.reread(observed, ops) : await this.observe();
    } catch {
      after = null;
    }
    this.observed = (after ?? observed).filter((o) => this.managed.has(serviceKeyId(o.service.key)));
    if (errors.length === 0 && after) this.setSnapshot(after);
    if (errors.length === 0) {
      this.retryMs = 0;
      this.counters.lastSuccessAt = this.clock.now();
    } else this.scheduleRetry();
    return { reason, ops, applied, errors };
  }

  /**
   * The table after `ops` were applied to `before`: one services dump, and a dest dump
   * only for the services the ops touched; the others keep their dests (and counters)
   * from `before`.
   */
  private reread(before: readonly ObservedService[], ops: readonly IpvsOp[]): Promise<ObservedService[]> {
    const touched = new Set(ops.map((op) => serviceKeyId(op.op === 'addService' || op.op === 'editService' ? op.service.key : op.key)));
    const untouched = new Map<string, ObservedService>();
    for (const o of before) {
      const id = serviceKeyId(o.service.key);
      if (!touched.has(id)) untouched.set(id, o);
    }
    return this.read(untouched);
  }

  private setSnapshot(s: ObservedService[] | null): void {
    this.snapshot = s;
    this.snapshotIds = new Set(s?.map((o) => serviceKeyId(o.service.key)));
  }

  private fail(msg: string): void {
    this.counters.errors++;
    this.counters.lastError = msg;
    this.logger.error(`ipvs: ${msg}`);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryMs = Math.min(this.retryMs ? this.retryMs * 2 : 1000, 30_000);
    this.retryTimer = this.clock.at(this.clock.now() + this.retryMs, () => {
      this.retryTimer = undefined;
      void this.pass('retry');
    });
  }

  /** Applies one op with keepalived's tolerances; returns an error message or undefined. */
  private async applyOne(op: IpvsOp): Promise<string | undefined> {
    try {
      switch (op.op) {
        case 'addService':
          await this.tolerate(() => this.ipvs.addService(op.service), ['EEXIST']);
          break;
        case 'editService':
          try {
            await this.ipvs.editService(op.service);
          } catch (e) {
            if (code(e) !== 'ESRCH') throw e;
            await this.tolerate(() => this.ipvs.addService(op.service), ['EEXIST']);
          }
          break;
        case 'delService':
          await this.tolerate(() => this.ipvs.delService(op.key), ['ESRCH', 'ENOENT']);
          break;
        case 'addDest':
          await this.tolerate(() => this.ipvs.addDest(op.key, op.dest), ['EEXIST']);
          break;
        case 'editDest':
          try {
            await this.ipvs.editDest(op.key, op.dest);
          } catch (e) {
            if (code(e) !== 'ENOENT') throw e;
            await this.tolerate(() => this.ipvs.addDest(op.key, op.dest), ['EEXIST']);
          }
          break;
        case 'delDest':
          await this.tolerate(() => this.ipvs.delDest(op.key, op.dest), ['ENOENT', 'ESRCH']);
          break;
      }
      return undefined;
    } catch (e) {
      return `${describeOp(op)}: ${(e as Error).message}`;
    }
  }

  private async tolerate(fn: () => Promise<void>, ok: readonly string[]): Promise<void> {
    try {
      await fn();
    } catch (e) {
      const c = code(e);
      if (c === undefined || !ok.includes(c)) throw e;
    }
  }
}
