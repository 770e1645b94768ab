/**
 * The reconciler: reads the kernel's IPVS table, diffs it against the
 * desired one ({@link diffIpvs}) and applies the ops through {@link Ipvs},
 * with keepalived's tolerances:
 * - EEXIST on an add is success (it is there already);
 * - ENOENT / ESRCH on a delete is success (it is gone already);
 * - an edit failing with ENOENT (dest) / ESRCH (service) becomes an add.
 *
 * A netlink error never escapes. An op the kernel refuses (an unknown
 * scheduler, lthreshold above uthreshold, EPERM…) fails its object alone: the
 * service, or the one dest, is logged, counted, listed by {@link Reconciler.failures}
 * and retried on its own after a growing delay on the injected clock (1 s
 * doubling to 60 s); until then later passes leave that op out (and the dests of
 * a service that could not be added), while every other object keeps changing
 * incrementally. A changed desired state for a failing object is tried at once.
 * A failed read or a failed socket (nothing known of the ops) makes the next
 * pass read the whole table, retried as a whole (1 s doubling to 30 s).
 * Passes never overlap: requests during a pass are merged into one pass after
 * it (a burst of changes costs one pass, not one each).
 *
 * Reads: start and whole-table retry passes read the whole table (one dest
 * dump per managed service). A change pass (health, reload, drain…) diffs
 * only the services marked changed ({@link Reconciler.updateDesired}), against
 * the table as the previous pass left it, and reads nothing: the kernel's
 * acknowledgement of each write is applied to that table in memory; only a
 * service whose op failed or was tolerated (EEXIST…: the object is there, as
 * someone else left it) is read back. So a change costs work in proportion to
 * the change, not the table. Hand-made drift is found by the audit (every
 * minute by default), which reads the table a slice of services at a time
 * ({@link AUDIT_SLICE}) and lets change passes run between two slices: a real
 * server going down never waits behind a whole-table read.
 *
 * Logs: one info line per pass that wrote anything (`reconcile: 3 adds,
 * 1000 edits in 1 pass (change), 12 ms`); the ops themselves at info when a
 * pass writes at most {@link OPS_LOGGED_AT_INFO} of them, at debug otherwise
 * (thousands of lines through a synchronous pipe cost more than the writes).
 * Repairs found by the audit are warnings, each.
 *
 * Ownership: only services whose key is in the managed set are read closely
 * and changed. The set holds the desired keys plus the keys of services that
 * left the configuration, until their deletion succeeds. Nothing is ever
 * flushed: at start the kernel table is adopted and only the difference is
 * applied, so a restart keeps the connections of healthy real servers.
 */
import { emitEvent } from '../events';
import { destKeyId, formatDestKey, formatServiceKey, serviceKeyId } from '../kernel/ipvs/addr';
import type { DestKey, Ipvs, IpvsDest, IpvsDestEntry, IpvsOp, IpvsOpResult, IpvsService, IpvsServiceEntry, ServiceKey } from '../kernel/ipvs/types';
import type { Clock, TimerHandle } from '../lib/clock';
import type { Logger } from '../log';
import type { AuditSchedule } from './audit';
import { deleteService, diffIpvs, diffService, type DesiredServiceLike, type ObservedService } from './diff';

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
  /** Ops left out because their object is failing and its retry is not due yet. */
  readonly held?: number;
}

/** One IPVS object (a service, or a dest of a service) whose op the kernel keeps refusing. */
export interface ObjectFailure {
  readonly kind: 'service' | 'dest';
  readonly key: ServiceKey;
  /** The dest, for kind 'dest'. */
  readonly dest?: DestKey;
  /** The refused op, as {@link describeOp} says it. */
  readonly op: string;
  /** The last error message (`adding service …: ENOENT`). */
  readonly error: string;
  /** Its errno name, when the kernel gave one. */
  readonly code: string | null;
  /** Attempts that failed in a row. */
  readonly attempts: number;
  /** Monotonic ms of the first failure of this series. */
  readonly since: number;
  /** Monotonic ms at which it is tried again. */
  readonly nextRetryAt: number;
}

interface FailureRec extends ObjectFailure {
  readonly serviceId: string;
  readonly opText: string;
}

/** Services an audit reads (one dest dump each) and diffs before it lets a waiting change pass run. */
export const AUDIT_SLICE = 64;

/** A pass writing at most this many ops logs each at info; a bigger one logs them at debug (the summary line is always info). */
export const OPS_LOGGED_AT_INFO = 8;

/** First retry of a failing object, doubled per failure up to {@link OBJECT_RETRY_MAX_MS}. */
export const OBJECT_RETRY_MIN_MS = 1000;
/** The cap of a failing object's retry delay. */
export const OBJECT_RETRY_MAX_MS = 60_000;

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
  /** Objects (services, dests) failing now, each retried on its own; see {@link Reconciler.failures}. */
  readonly failing: number;
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
  /** Runs at the start of every pass, before the diff: the place to bring the desired table up to date. */
  readonly beforePass?: () => void;
  /** Told when an object starts failing and when it recovers (for events and metrics). */
  readonly onFailure?: (f: ObjectFailure, state: 'failing' | 'recovered') => void;
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
  private desired = new Map<string, DesiredServiceLike>();
  /** Service ids whose desired state changed since the last pass; `all` after setDesired. */
  private dirty = new Set<string>();
  private dirtyAll = true;
  private readonly failing = new Map<string, FailureRec>();
  private failTimer?: TimerHandle;
  private failTimerAt = Infinity;
  private readonly beforePass?: () => void;
  private readonly onFailure?: (f: ObjectFailure, state: 'failing' | 'recovered') => void;
  private readonly managed = new Set<string>();
  private managedChanges = 0;
  /** The pass loop runs (a pass or an audit slice in progress); it resolves `idle` when it ends. */
  private running = false;
  private idle: Promise<void> = Promise.resolve();
  private idleDone: () => void = () => undefined;
  /** The next pass, requested while one runs: every request until it starts shares it. */
  private pending: Pending | null = null;
  /** The audit under way, one slice of services per step. */
  private auditRun: AuditRun | null = null;
  private retryTimer?: TimerHandle;
  private retryMs = 0;
  private audit?: AuditSchedule;
  private stopped = false;
  /** The table as the last pass left it (or read it), by service id. */
  private lastTable: ReadonlyMap<string, ObservedService> = new Map();
  /**
   * The whole table as this reconciler left it at the end of its last pass (its own
   * writes re-read), or null when that cannot be trusted (no pass yet, a failed op or
   * read). A 'change' pass diffs against it instead of re-reading the kernel: O(changes)
   * netlink work where a full read costs one dest dump per service (1,000 dumps for
   * 1,000 services). Hand-made drift is the audit's to find: audit, retry and start
   * passes always read the kernel.
   */
  private snapshot: Map<string, ObservedService> | null = null;
  private counters = { passes: 0, audits: 0, opsApplied: 0, driftRepaired: 0, errors: 0, lastError: null as string | null, lastSuccessAt: null as number | null };

  constructor(opts: ReconcilerOptions) {
    this.ipvs = opts.ipvs;
    this.logger = opts.logger;
    this.clock = opts.clock;
    for (const k of opts.managed ?? []) this.own(k);
    if (opts.beforePass) this.beforePass = opts.beforePass;
    if (opts.onFailure) this.onFailure = opts.onFailure;
  }

  /**
   * Sets the desired table. Keys of services that leave it stay managed
   * until deleted. Does not run a pass: call {@link pass}.
   */
  setDesired(desired: readonly DesiredServiceLike[]): void {
    this.desired = new Map();
    for (const d of desired) this.want(d);
    this.dirtyAll = true;
  }

  /**
   * Changes part of the desired table: `put` services added or replaced, the
   * services whose ids are in `remove` no longer wanted (still managed until
   * deleted). The next change pass diffs only these. Does not run a pass.
   */
  updateDesired(put: readonly DesiredServiceLike[], remove: Iterable<string> = []): void {
    for (const id of remove) {
      this.desired.delete(id);
      this.dirty.add(id);
    }
    for (const d of put) this.dirty.add(this.want(d));
  }

  private want(d: DesiredServiceLike): string {
    const id = serviceKeyId(d.service.key);
    // A service the snapshot holds as foreign (its dests unread) is adopted: read it.
    if (!this.managed.has(id) && this.snapshot?.has(id)) this.snapshot = null;
    this.own(id);
    this.desired.set(id, d);
    return id;
  }

  /** The objects failing now, oldest first; each is retried on its own (see the file's doc). */
  failures(): ObjectFailure[] {
    return [...this.failing.values()].map(stripFailure);
  }

  /** The ids of the service keys lvsd owns now. */
  managedKeys(): ReadonlySet<string> {
    return this.managed;
  }

  /** Stops managing `key` (it will be left alone from now on). */
  forget(key: ServiceKey): void {
    this.disown(serviceKeyId(key));
  }

  /** The managed services as last read from the kernel (with their counters), in dump order. */
  lastObserved(): readonly ObservedService[] {
    const out: ObservedService[] = [];
    for (const [id, o] of this.lastTable) if (this.managed.has(id)) out.push(o);
    return out;
  }

  /** Counters. */
  stats(): ReconcilerStats {
    return { ...this.counters, failing: this.failing.size, managed: this.managed.size };
  }

  /**
   * Runs a pass: read, diff, apply. Never rejects. When a pass is running,
   * one more pass is queued after it (requests during it share that one).
   */
  pass(reason: PassReason = 'change'): Promise<PassResult> {
    if (this.stopped) return Promise.resolve(stoppedResult(reason));
    let promise: Promise<PassResult>;
    if (reason === 'audit') {
      // An audit under way (sliced) serves the request; its result covers every slice.
      this.auditRun ??= newAuditRun();
      promise = this.auditRun.promise;
    } else {
      if (!this.pending) this.pending = newPending(reason);
      else if (RANK[reason] > RANK[this.pending.reason]) this.pending.reason = reason;
      promise = this.pending.promise;
    }
    this.drive();
    return promise;
  }

  /**
   * Runs the loop unless it runs: the pending pass first, then one audit slice, again,
   * until nothing is left. Starts synchronously (a pass's `beforePass` runs in the
   * caller's turn, as it did when a pass was a plain call).
   */
  private drive(): void {
    if (this.running) return;
    this.running = true;
    this.idle = new Promise((r) => (this.idleDone = r));
    void this.loop();
  }

  private async loop(): Promise<void> {
    for (;;) {
      if (this.stopped) {
        const p = this.pending;
        const a = this.auditRun;
        this.pending = null;
        this.auditRun = null;
        p?.resolve(stoppedResult(p.reason));
        a?.resolve(a.started ? a.result() : stoppedResult('audit'));
        break;
      }
      const p = this.pending;
      if (p) {
        this.pending = null;
        p.resolve(await this.runPassSafe(p.reason));
        continue;
      }
      const a = this.auditRun;
      if (a) {
        let finished = true;
        try {
          finished = await this.auditStep(a);
        } catch (e) {
          a.errors.push(`audit: ${(e as Error).message}`);
        }
        if (finished) {
          this.auditRun = null;
          a.resolve(a.result());
        }
        continue;
      }
      break;
    }
    this.running = false;
    this.idleDone();
  }

  /** A pass; never rejects (an unexpected throw becomes the pass's error, and the next pass reads the whole table). */
  private async runPassSafe(reason: PassReason): Promise<PassResult> {
    try {
      return await this.runPass(reason);
    } catch (e) {
      const msg = `pass failed: ${(e as Error).message}`;
      this.dirtyAll = true;
      this.snapshot = null;
      this.fail(msg);
      return { reason, ops: [], applied: 0, errors: [msg] };
    }
  }

  /**
   * One step of an audit: first the services dump, then per step a slice of
   * {@link AUDIT_SLICE} services: their dests read, diffed and repaired. Returns true
   * when the audit is over. Without a trusted table (no pass yet, a failed read) the
   * audit is one whole-table pass.
   */
  private async auditStep(run: AuditRun): Promise<boolean> {
    if (!run.started) {
      run.started = true;
      this.counters.audits++;
      if (this.snapshot === null || this.dirtyAll) {
        run.add(await this.runPass('audit'));
        return true;
      }
      let services: IpvsServiceEntry[];
      try {
        services = await this.ipvs.services();
      } catch (e) {
        const msg = `reading the IPVS table: ${(e as Error).message}`;
        this.dirtyAll = true;
        this.fail(msg);
        run.errors.push(msg);
        return true;
      }
      run.dump = new Map();
      const queue = new Set<string>();
      for (const svc of services) {
        const id = serviceKeyId(svc.key);
        run.dump.set(id, svc);
        queue.add(id);
      }
      for (const id of this.desired.keys()) queue.add(id);
      for (const id of this.managed) queue.add(id);
      for (const id of this.snapshot.keys()) queue.add(id);
      run.queue = [...queue];
      run.touched = new Set();
      return run.queue.length === 0;
    }
    const base = this.snapshot;
    if (base === null || this.dirtyAll || run.dump === null) {
      // A pass in between lost the table (a failed op or read): the rest of the audit is one whole-table pass.
      this.counters.passes++;
      run.add(await this.runPass('audit', false));
      return true;
    }
    this.counters.passes++;
    this.beforePass?.();
    const slice = run.queue.splice(0, AUDIT_SLICE);
    const now = this.clock.now();
    this.snapshot = null;
    const observed = base;
    try {
      for (const id of slice) {
        // A service a pass wrote since the dump is as that pass left it; the others as dumped.
        const svc = run.fresh || run.touched.has(id) ? base.get(id)?.service : run.dump.get(id);
        if (!svc) {
          observed.delete(id);
          continue;
        }
        if (!this.managed.has(id)) {
          observed.set(id, { service: svc, dests: [] });
          continue;
        }
        try {
          observed.set(id, { service: svc, dests: await this.ipvs.dests(svc.key) });
        } catch (e) {
          if (code(e) !== 'ESRCH') throw e;
          observed.delete(id);
        }
      }
    } catch (e) {
      const msg = `reading the IPVS table: ${(e as Error).message}`;
      this.dirtyAll = true;
      this.fail(msg);
      run.errors.push(msg);
      return true;
    }
    run.add(await this.applyDiff('audit', this.diffScope(new Set(slice), observed), observed, new Set(slice), now));
    return run.queue.length === 0;
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
      ids.set(service, id);
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
    this.clock.clear(this.failTimer);
    this.failTimer = undefined;
    if (this.running) await this.idle;
  }

  private async runPass(reason: PassReason, count = true): Promise<PassResult> {
    if (count) this.counters.passes++;
    this.beforePass?.();
    let observed: Map<string, ObservedService>;
    // Change and object-retry passes diff against the last pass's table, and only the
    // services that changed unless the whole desired table was replaced.
    const trusted = reason === 'change' || reason === 'retry' ? this.snapshot : null;
    const now = this.clock.now();
    let scope: Set<string> | null = null;
    if (trusted !== null && !this.dirtyAll) {
      scope = this.dirty;
      for (const f of this.failing.values()) if (f.nextRetryAt <= now) scope.add(f.serviceId);
    }
    this.dirty = new Set();
    this.dirtyAll = false;
    this.snapshot = null;
    try {
      observed = trusted ?? byId(await this.observe());
    } catch (e) {
      const msg = `reading the IPVS table: ${(e as Error).message}`;
      this.dirtyAll = true;
      this.fail(msg);
      return { reason, ops: [], applied: 0, errors: [msg] };
    }
    const all = scope === null ? diffIpvs([...this.desired.values()], [...observed.values()], this.managed) : this.diffScope(scope, observed);
    // A whole-table read is newer than an audit's dump.
    if (scope === null && this.auditRun?.started) this.auditRun.fresh = true;
    return this.applyDiff(reason, all, observed, scope, now);
  }

  /**
   * Applies the diff `all` of the services in `scope` (null: all) against `observed`
   * (which it takes over and updates with what the kernel acknowledged): failing
   * objects wait for their retry, one pipelined batch, keepalived's tolerances, logs.
   */
  private async applyDiff(reason: PassReason, all: readonly IpvsOp[], observed: Map<string, ObservedService>, scope: ReadonlySet<string> | null, now: number): Promise<PassResult> {
    const started = performance.now();
    // Failing objects whose retry is not due sit this pass out (with the dests of a service not added).
    // The dests of a service whose add is being retried wait for its answer (they would fail with ESRCH).
    const ops: IpvsOp[] = [];
    const deferred: IpvsOp[] = [];
    const blocked = new Set<string>();
    const retried = new Set<string>();
    const generated = new Set<string>();
    let held = 0;
    for (const op of all) {
      const obj = objectId(op);
      generated.add(obj);
      const svc = serviceIdOf(op);
      const isDest = op.op === 'addDest' || op.op === 'editDest' || op.op === 'delDest';
      if (isDest && blocked.has(svc)) {
        held++;
        continue;
      }
      if (isDest && retried.has(svc)) {
        deferred.push(op);
        continue;
      }
      const f = this.failing.get(obj);
      if (f && f.nextRetryAt > now && f.opText === JSON.stringify(op)) {
        held++;
        if (op.op === 'addService') blocked.add(svc);
        continue;
      }
      if (f && op.op === 'addService') retried.add(svc);
      ops.push(op);
    }
    // A failing object the diff no longer asks anything of has its goal (or is no longer wanted).
    for (const [obj, f] of this.failing) {
      if ((scope === null || scope.has(f.serviceId)) && !generated.has(obj)) this.clearFailure(obj, 'no longer needed');
    }
    const errors: string[] = [];
    let applied = 0;
    if (ops.length > 0 && reason === 'audit') {
      this.logger.warn('ipvs audit found drift; repairing', { ops: ops.length });
      emitEvent({ subsystem: 'reconcile', severity: 'warn', subject: 'ipvs', message: `audit found drift, repairing ${ops.length} object(s): ${ops.slice(0, 3).map(describeOp).join('; ')}${ops.length > 3 ? '; …' : ''}`, fields: { ops: ops.length } });
    }
    // One batch through the client's windowed apply (thousands of objects in
    // seconds), then keepalived's tolerances on the per-op results.
    const perOp = reason === 'audit' ? 'warn' : ops.length <= OPS_LOGGED_AT_INFO ? 'info' : 'debug';
    const logOps = perOp !== 'debug' || this.logger.level === 'debug';
    // What the kernel acknowledged, by service, to bring the table up to date without reading it.
    const acked = new Map<string, IpvsOp[]>();
    // Services whose state after this pass the acknowledgements do not tell: read back.
    const unsure = new Set<string>();
    const counts = { add: 0, edit: 0, delete: 0 };
    const done = (op: IpvsOp, exact = true): void => {
      applied++;
      counts[op.op.startsWith('add') ? 'add' : op.op.startsWith('edit') ? 'edit' : 'delete']++;
      const svc = serviceIdOf(op);
      if (this.auditRun?.started) this.auditRun.touched.add(svc);
      if (!exact) unsure.add(svc);
      else {
        const list = acked.get(svc);
        if (list) list.push(op);
        else acked.set(svc, [op]);
      }
      if (op.op === 'delService') this.disown(serviceKeyId(op.key));
      if (logOps) {
        const fields = { reason };
        if (perOp === 'warn') this.logger.warn(`ipvs repaired: ${describeOp(op)}`, fields);
        else if (perOp === 'info') this.logger.info(`ipvs: ${describeOp(op)}`, fields);
        else this.logger.debug(`ipvs: ${describeOp(op)}`, fields);
      }
      if (this.failing.has(objectId(op))) this.clearFailure(objectId(op), 'applied');
    };
    const notAdded = new Set<string>();
    const failed = (op: IpvsOp, e: unknown): void => {
      const err = `${describeOp(op)}: ${(e as Error).message}`;
      errors.push(err);
      this.counters.errors++;
      this.counters.lastError = err;
      const svc = serviceIdOf(op);
      unsure.add(svc);
      if (this.auditRun?.started) this.auditRun.touched.add(svc);
      if (op.op === 'addService') notAdded.add(svc);
      // A dest of a service that could not be added fails with it; the service's failure says why.
      else if (notAdded.has(svc) && op.op !== 'editService' && op.op !== 'delService') return;
      this.recordFailure(op, e, now);
    };
    let results: IpvsOpResult[];
    try {
      results = ops.length ? await this.ipvs.apply(ops) : [];
      if (deferred.length > 0) {
        const added = new Set<string>();
        ops.forEach((op, i) => {
          if (op.op === 'addService' && (results[i]?.ok || TOLERATED.addService.includes(code(results[i]?.ok === false ? results[i].error : undefined) ?? ''))) added.add(serviceIdOf(op));
        });
        const next = deferred.filter((op) => added.has(serviceIdOf(op)));
        held += deferred.length - next.length;
        if (next.length > 0) {
          results = results.concat(await this.ipvs.apply(next));
          ops.push(...next);
        }
      }
    } catch (e) {
      // The socket itself failed: nothing is known of these ops; the retry re-reads the kernel.
      const msg = `applying ${ops.length} IPVS change(s): ${(e as Error).message}`;
      this.dirtyAll = true;
      this.lastTable = observed;
      this.fail(msg);
      return { reason, ops, applied: 0, errors: [msg], held };
    }
    const second: IpvsOp[] = [];
    ops.forEach((op, i) => {
      const r = results[i];
      if (!r || r.ok) return r ? done(op) : failed(op, new Error('no answer'));
      const c = code(r.error);
      if (TOLERATED[op.op].includes(c ?? '')) return done(op, false);
      // An edit of something that vanished becomes an add.
      if (op.op === 'editService' && c === 'ESRCH') return void second.push({ op: 'addService', service: op.service });
      if (op.op === 'editDest' && c === 'ENOENT') return void second.push({ op: 'addDest', key: op.key, dest: op.dest });
      failed(op, r.error);
    });
    if (second.length) {
      for (const op of second) {
        const err = await this.applyOne(op);
        if (err) failed(op, new Error(err.slice(describeOp(op).length + 2)));
        // The add behind a vanished edit tolerates EEXIST: read the service back.
        else done(op, false);
      }
    }
    this.counters.opsApplied += applied;
    if (reason === 'audit') this.counters.driftRepaired += applied;
    // Managed keys whose service is gone and no longer desired: nothing left to own.
    for (const id of scope ?? [...this.managed]) if (this.managed.has(id) && !observed.has(id) && !this.desired.has(id)) this.disown(id);
    for (const [id, list] of acked) if (!unsure.has(id) && !applyAcked(observed, id, list)) unsure.add(id);
    let after: Map<string, ObservedService> | null = observed;
    try {
      // Only services whose outcome is unknown are read back (failed or tolerated ops): the snapshot stays exact.
      if (unsure.size > 0) after = await this.reread(observed, ops.filter((op) => unsure.has(serviceIdOf(op))));
    } catch {
      after = null;
      this.dirtyAll = true;
    }
    if (applied > 0 || errors.length > 0) {
      const parts = [counts.add && plural(counts.add, 'add'), counts.edit && plural(counts.edit, 'edit'), counts.delete && plural(counts.delete, 'delete')].filter(Boolean);
      this.logger.info(`reconcile: ${parts.length ? parts.join(', ') : 'no change'} in 1 pass (${reason}), ${(performance.now() - started).toFixed(1)} ms${errors.length ? `, ${plural(errors.length, 'error')}` : ''}${held ? `, ${held} held for retry` : ''}`, { reason, ops: ops.length, applied, errors: errors.length });
    }
    this.lastTable = after ?? observed;
    if (after) this.snapshot = after;
    if (errors.length === 0) this.counters.lastSuccessAt = this.clock.now();
    if (after) this.retryMs = 0;
    else this.scheduleRetry();
    this.armFailureRetry();
    return { reason, ops, applied, errors, held };
  }

  /** The ops for the services in `scope` alone, against the last pass's table. */
  private diffScope(scope: ReadonlySet<string>, have: ReadonlyMap<string, ObservedService>): IpvsOp[] {
    const ops: IpvsOp[] = [];
    const deletes: IpvsOp[] = [];
    for (const id of scope) {
      const want = this.desired.get(id);
      const o = have.get(id);
      if (want) diffService(want, o, ops);
      else if (o && this.managed.has(id)) deleteService(o, deletes);
    }
    return ops.concat(deletes);
  }

  private recordFailure(op: IpvsOp, e: unknown, now: number): void {
    const obj = objectId(op);
    const opText = JSON.stringify(op);
    const prev = this.failing.get(obj);
    const attempts = prev && prev.opText === opText ? prev.attempts + 1 : 1;
    const delay = Math.min(OBJECT_RETRY_MIN_MS * 2 ** (attempts - 1), OBJECT_RETRY_MAX_MS);
    const isDest = op.op === 'addDest' || op.op === 'editDest' || op.op === 'delDest';
    const key = op.op === 'addService' || op.op === 'editService' ? op.service.key : op.key;
    const rec: FailureRec = {
      kind: isDest ? 'dest' : 'service',
      key,
      ...(isDest ? { dest: { address: op.dest.address, port: op.dest.port } } : {}),
      op: describeOp(op),
      error: `${describeOp(op)}: ${(e as Error).message}`,
      code: code(e) ?? null,
      attempts,
      since: prev && prev.opText === opText ? prev.since : now,
      nextRetryAt: now + delay,
      serviceId: serviceKeyId(key),
      opText,
    };
    this.failing.set(obj, rec);
    const fields = { attempts, retry_in_ms: delay };
    if (attempts === 1) this.logger.error(`ipvs: ${rec.error}; retried on its own, other objects continue`, fields);
    else this.logger.warn(`ipvs: still failing: ${rec.error}`, fields);
    if (attempts === 1) this.onFailure?.(stripFailure(rec), 'failing');
  }

  private clearFailure(obj: string, why: 'applied' | 'no longer needed'): void {
    const f = this.failing.get(obj);
    if (!f) return;
    this.failing.delete(obj);
    this.logger.info(`ipvs: recovered: ${f.op} (${why}, after ${f.attempts} failed attempt(s))`);
    this.onFailure?.(stripFailure(f), 'recovered');
  }

  /** One timer, at the earliest due retry of a failing object, runs a retry pass. */
  private armFailureRetry(): void {
    let next = Infinity;
    for (const f of this.failing.values()) next = Math.min(next, f.nextRetryAt);
    if (next === this.failTimerAt && this.failTimer) return;
    this.clock.clear(this.failTimer);
    this.failTimer = undefined;
    this.failTimerAt = next;
    if (next === Infinity || this.stopped) return;
    this.failTimer = this.clock.at(next, () => {
      this.failTimer = undefined;
      this.failTimerAt = Infinity;
      void this.pass('retry');
    });
  }

  /**
   * The table after `ops` were applied to `before`: a dest dump for each service the ops
   * touched, and a services dump only when a service itself was written; the others keep
   * their entries (and counters) from `before`.
   */
  private async reread(before: Map<string, ObservedService>, ops: readonly IpvsOp[]): Promise<Map<string, ObservedService>> {
    const touched = new Set(ops.map(serviceIdOf));
    if (!ops.some((op) => op.op === 'addService' || op.op === 'editService' || op.op === 'delService')) {
      // Only dests were written: the services are as they were; read the touched ones' dests
      // into the table in place (work in proportion to the change).
      for (const id of touched) {
        const o = before.get(id);
        if (o) before.set(id, { service: o.service, dests: await this.ipvs.dests(o.service.key) });
      }
      return before;
    }
    const untouched = new Map<string, ObservedService>();
    for (const [id, o] of before) if (!touched.has(id)) untouched.set(id, o);
    return byId(await this.read(untouched));
  }

  /** Number of changes to the managed set so far (to persist it only when it changed). */
  get managedVersion(): number {
    return this.managedChanges;
  }

  private own(id: string): void {
    if (this.managed.has(id)) return;
    this.managed.add(id);
    this.managedChanges++;
  }

  private disown(id: string): void {
    if (this.managed.delete(id)) this.managedChanges++;
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

const ids = new WeakMap<object, string>();
/** The service id of an observed service, computed once per entry (entries are kept across passes). */
function idOf(o: ObservedService): string {
  let id = ids.get(o.service);
  if (id === undefined) ids.set(o.service, (id = serviceKeyId(o.service.key)));
  return id;
}

function byId(list: readonly ObservedService[]): Map<string, ObservedService> {
  const m = new Map<string, ObservedService>();
  for (const o of list) m.set(idOf(o), o);
  return m;
}

/** The object an op writes: `s SERVICE` or `d SERVICE DEST`. */
function objectId(op: IpvsOp): string {
  switch (op.op) {
    case 'addService':
    case 'editService':
      return `s ${serviceKeyId(op.service.key)}`;
    case 'delService':
      return `s ${serviceKeyId(op.key)}`;
    default:
      return `d ${serviceKeyId(op.key)} ${destKeyId(op.dest)}`;
  }
}

function serviceIdOf(op: IpvsOp): string {
  return serviceKeyId(op.op === 'addService' || op.op === 'editService' ? op.service.key : op.key);
}

function stripFailure(f: FailureRec): ObjectFailure {
  const { serviceId: _s, opText: _o, ...rest } = f;
  return rest;
}

/** Later requests of a higher rank decide a merged pass's reason: a start reads the whole table. */
const RANK: Readonly<Record<PassReason, number>> = { change: 0, retry: 1, audit: 1, start: 2 };

interface Pending {
  reason: PassReason;
  readonly promise: Promise<PassResult>;
  readonly resolve: (r: PassResult) => void;
}

function newPending(reason: PassReason): Pending {
  let resolve!: (r: PassResult) => void;
  const promise = new Promise<PassResult>((r) => (resolve = r));
  return { reason, promise, resolve };
}

/** An audit under way: the services dump, the services left to read, and the results of its slices. */
interface AuditRun {
  started: boolean;
  dump: Map<string, IpvsServiceEntry> | null;
  queue: string[];
  /** Services a pass wrote since the dump (their dump entry is stale). */
  touched: Set<string>;
  /** A whole-table read since the dump: the table is newer than the dump for every service. */
  fresh: boolean;
  readonly ops: IpvsOp[];
  readonly errors: string[];
  applied: number;
  held: number;
  readonly promise: Promise<PassResult>;
  readonly resolve: (r: PassResult) => void;
  add(r: PassResult): void;
  result(): PassResult;
}

function newAuditRun(): AuditRun {
  let resolve!: (r: PassResult) => void;
  const promise = new Promise<PassResult>((r) => (resolve = r));
  const run: AuditRun = {
    started: false,
    dump: null,
    queue: [],
    touched: new Set(),
    fresh: false,
    ops: [],
    errors: [],
    applied: 0,
    held: 0,
    promise,
    resolve,
    add(r) {
      run.ops.push(...r.ops);
      run.errors.push(...r.errors);
      run.applied += r.applied;
      run.held += r.held ?? 0;
    },
    result: () => ({ reason: 'audit', ops: run.ops, applied: run.applied, errors: run.errors, held: run.held }),
  };
  return run;
}

function stoppedResult(reason: PassReason): PassResult {
  return { reason, ops: [], applied: 0, errors: ['reconciler stopped'] };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Brings the table entry of service `id` up to date with ops the kernel acknowledged
 * (in order). False when the entry is not what the ops expect (read it back instead).
 */
function applyAcked(table: Map<string, ObservedService>, id: string, ops: readonly IpvsOp[]): boolean {
  let entry = table.get(id);
  let dests: Map<string, IpvsDestEntry> | null = null;
  for (const op of ops) {
    switch (op.op) {
      case 'addService':
        entry = { service: { ...op.service }, dests: [] };
        dests = new Map();
        break;
      case 'editService':
        if (!entry) return false;
        entry = { service: { ...op.service, ...(entry.service.stats ? { stats: entry.service.stats } : {}) }, dests: entry.dests };
        break;
      case 'delService':
        entry = undefined;
        dests = null;
        break;
      default: {
        if (!entry) return false;
        dests ??= new Map(entry.dests.map((d) => [destKeyId(d), d]));
        const did = destKeyId(op.dest);
        if (op.op === 'delDest') dests.delete(did);
        else {
          const old = dests.get(did);
          dests.set(did, { ...op.dest, ...(old?.stats ? { stats: old.stats } : {}) });
        }
      }
    }
  }
  if (entry === undefined) table.delete(id);
  else table.set(id, dests ? { service: entry.service, dests: [...dests.values()] } : entry);
  return true;
}
