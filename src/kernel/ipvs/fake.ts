/**
 * An in-memory IPVS table with the kernel's answers, for tests and
 * `--dry-run`. It records every call and can be told to fail.
 */
import { canonicalAddress, destKeyId, formatServiceKey, opAction, serviceKeyId } from './addr';
import { IpvsClosedError, IpvsError } from './errors';
import { ERRNO_BY_NAME } from './errno';
import { IpvsOpWriter } from './ops';
import type { Ipvs, IpvsDest, IpvsDestEntry, IpvsInfo, IpvsOp, IpvsOpResult, IpvsService, IpvsServiceEntry, IpvsTimeouts, ServiceKey, SyncDaemon, SyncState } from './types';

/** Schedulers Linux ships (net/netfilter/ipvs/ip_vs_*.c); others fail with ENOENT as the kernel's "Scheduler not found". */
export const KNOWN_SCHEDULERS: readonly string[] = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'];

/** The name of an {@link Ipvs} method the fake records. */
export type FakeIpvsMethod = Exclude<keyof Ipvs, 'close'> | 'close';

/** One recorded call: the method, its arguments (deep-copied), and the error code it failed with, if any. */
export interface FakeIpvsCall {
  method: FakeIpvsMethod;
  args: unknown[];
  error?: string;
}

/** A rule that makes calls fail: return an errno name ("EIO") to fail the call, undefined to let it run. */
export type FakeIpvsFault = (call: { method: FakeIpvsMethod; args: readonly unknown[] }) => string | undefined;

interface SvcState {
  service: IpvsService;
  dests: Map<string, IpvsDest>;
}

const clone = <T>(v: T): T => structuredClone(v);

const COMMAND: Record<string, string> = {
  addService: 'IPVS_CMD_NEW_SERVICE',
  editService: 'IPVS_CMD_SET_SERVICE',
  delService: 'IPVS_CMD_DEL_SERVICE',
  services: 'IPVS_CMD_GET_SERVICE',
  addDest: 'IPVS_CMD_NEW_DEST',
  editDest: 'IPVS_CMD_SET_DEST',
  delDest: 'IPVS_CMD_DEL_DEST',
  dests: 'IPVS_CMD_GET_DEST',
  startDaemon: 'IPVS_CMD_NEW_DAEMON',
  stopDaemon: 'IPVS_CMD_DEL_DAEMON',
  daemons: 'IPVS_CMD_GET_DAEMON',
  setTimeouts: 'IPVS_CMD_SET_CONFIG',
  timeouts: 'IPVS_CMD_GET_CONFIG',
  info: 'IPVS_CMD_GET_INFO',
  flush: 'IPVS_CMD_FLUSH',
};

/**
 * An in-memory {@link Ipvs} with the kernel's semantics (Linux 6.1
 * ip_vs_ctl.c): EEXIST on a duplicate service, dest or daemon; ESRCH for a
 * missing service or daemon; ENOENT for a missing dest or unknown scheduler;
 * an empty dest list for a missing service (as the GET_DEST dump);
 * ERANGE for a negative weight or a lower threshold above the upper;
 * EINVAL for an IPv6 persistence netmask outside 1–128 or a mixed-family
 * dest that is not TUN. Dests are keyed by address+port within a service.
 */
export class FakeIpvs extends IpvsOpWriter implements Ipvs {
  /** Every call, in order. */
  readonly calls: FakeIpvsCall[] = [];
  private readonly table = new Map<string, SvcState>();
  private readonly daemonTable = new Map<SyncState, SyncDaemon>();
  private timeoutValues: IpvsTimeouts = { tcp: 900, tcpFin: 120, udp: 300 };
  private readonly faults: FakeIpvsFault[] = [];
  private readonly missingSchedulers = new Set<string>();
  private readonly record: boolean;

  /**
   * `record` false keeps {@link calls} empty (no copy of every call's arguments): for
   * benchmarks and long `--dry-run` runs, where nothing reads the calls. Default true.
   */
  constructor(opts: { readonly record?: boolean } = {}) {
    super();
    this.record = opts.record ?? true;
  }
  private closed = false;

  /** Makes calls fail while `fault` returns an errno name for them; returns its remover. */
  addFault(fault: FakeIpvsFault): () => void {
    this.faults.push(fault);
    return () => {
      const i = this.faults.indexOf(fault);
      if (i >= 0) this.faults.splice(i, 1);
    };
  }

  /** Makes the next `times` calls of `method` fail with errno name `code` (e.g. "EIO"). Inside apply(), ops count as their method. */
  failNext(method: FakeIpvsMethod, code: string, times = 1): void {
    let left = times;
    const remove = this.addFault((c) => {
      if (c.method !== method || left <= 0) return undefined;
      if (--left === 0) remove();
      return code;
    });
  }

  /**
   * Makes every write op that `match` accepts fail with errno name `code`, until the
   * returned remover is called: one object the kernel keeps refusing (ERANGE for a
   * dest, EPERM…), the other ops untouched.
   */
  failOp(match: (op: IpvsOp) => boolean, code: string): () => void {
    return this.addFault((c) => {
      const op = opOfCall(c.method, c.args);
      return op && match(op) ? code : undefined;
    });
  }

  /**
   * Makes scheduler `name` unavailable, as a kernel without its module: adding or
   * editing a service to use it fails with ENOENT until {@link restoreScheduler}.
   */
  removeScheduler(name: string): void {
    this.missingSchedulers.add(name);
  }

  /** Undoes {@link removeScheduler}. */
  restoreScheduler(name: string): void {
    this.missingSchedulers.delete(name);
  }

  /** Forgets recorded calls (the table stays). */
  clearCalls(): void {
    this.calls.length = 0;
  }

  /** Number of services and dests, for quick assertions. */
  get size(): { services: number; dests: number } {
    let dests = 0;
    for (const s of this.table.values()) dests += s.dests.size;
    return { services: this.table.size, dests };
  }

  async info(): Promise<IpvsInfo> {
    this.enter('info', [], 'reading IPVS info');
    return { version: '1.2.1', connTableSize: 4096 };
  }

  async services(): Promise<IpvsServiceEntry[]> {
    this.enter('services', [], 'listing services');
    return [...this.table.values()].map((s) => clone(s.service));
  }

  async dests(key: ServiceKey): Promise<IpvsDestEntry[]> {
    this.enter('dests', [key], `listing dests of ${formatServiceKey(key)}`);
    // The kernel's GET_DEST dump of a missing service ends empty, without an error.
    const s = this.table.get(serviceKeyId(key));
    return s ? [...s.dests.values()].map(clone) : [];
  }

  async apply(ops: readonly IpvsOp[]): Promise<IpvsOpResult[]> {
    if (this.closed) throw new IpvsClosedError('applying IPVS changes');
    const out: IpvsOpResult[] = [];
    for (const op of ops) {
      try {
        this.run(op);
        out.push({ ok: true });
      } catch (e) {
        if (!(e instanceof IpvsError)) throw e;
        out.push({ ok: false, error: e });
      }
    }
    return out;
  }

  async flush(): Promise<void> {
    this.enter('flush', [], 'flushing the IPVS table');
    this.table.clear();
  }

  async daemons(): Promise<SyncDaemon[]> {
    this.enter('daemons', [], 'listing sync daemons');
    return [...this.daemonTable.values()].map(clone);
  }

  async startDaemon(d: SyncDaemon): Promise<void> {
    const what = `starting ${d.state} sync daemon on ${d.ifname}`;
    this.enter('startDaemon', [d], what);
    if (this.daemonTable.has(d.state)) throw this.error('EEXIST', 'startDaemon', what);
    if (d.ifname === '' || d.ifname.length > 15) throw this.error('EINVAL', 'startDaemon', what);
    this.daemonTable.set(d.state, clone(d));
  }

  async stopDaemon(state: SyncState): Promise<void> {
    const what = `stopping ${state} sync daemon`;
    this.enter('stopDaemon', [state], what);
    if (!this.daemonTable.delete(state)) throw this.error('ESRCH', 'stopDaemon', what);
  }

  async timeouts(): Promise<IpvsTimeouts> {
    this.enter('timeouts', [], 'reading timeouts');
    return { ...this.timeoutValues };
  }

  async setTimeouts(t: IpvsTimeouts): Promise<void> {
    this.enter('setTimeouts', [t], 'setting timeouts');
    // ip_vs_set_timeout: 0 leaves a timeout unchanged.
    this.timeoutValues = {
      tcp: t.tcp || this.timeoutValues.tcp,
      tcpFin: t.tcpFin || this.timeoutValues.tcpFin,
      udp: t.udp || this.timeoutValues.udp,
    };
  }

  close(): void {
    this.calls.push({ method: 'close', args: [] });
    this.closed = true;
  }

  /** One op outside apply(): rejects with its error. */
  protected async write(op: IpvsOp): Promise<void> {
    this.run(op);
  }

  // The write commands, shared by the single-op methods and apply(). A call is
  // recorded with the arguments its method takes (service, or key and dest).
  private run(op: IpvsOp): void {
    const method = op.op;
    const what = opAction(op);
    switch (op.op) {
      case 'addService': {
        const s = op.service;
        this.enter(method, [s], what);
        const id = serviceKeyId(s.key);
        this.checkService(s, method, what);
        if (this.table.has(id)) throw this.error('EEXIST', method, what);
        this.table.set(id, { service: this.normService(s), dests: new Map() });
        return;
      }
      case 'editService': {
        const s = op.service;
        this.enter(method, [s], what);
        const st = this.svc(s.key, method, what);
        this.checkService(s, method, what);
        st.service = this.normService(s);
        return;
      }
      case 'delService': {
        const key = op.key;
        this.enter(method, [key], what);
        this.svc(key, method, what);
        this.table.delete(serviceKeyId(key));
        return;
      }
      case 'addDest':
      case 'editDest': {
        const { key, dest: d } = op;
        this.enter(method, [key, d], what);
        const st = this.svc(key, method, what);
        if (d.weight < 0) throw this.error('ERANGE', method, what);
        if (d.lowerThreshold > d.upperThreshold) throw this.error('ERANGE', method, what);
        if (d.family !== undefined && d.family !== key.family && d.fwdMethod !== 'TUN') throw this.error('EINVAL', method, what);
        const id = destKeyId(d);
        const exists = st.dests.has(id);
        if (method === 'addDest' && exists) throw this.error('EEXIST', method, what);
        if (method === 'editDest' && !exists) throw this.error('ENOENT', method, what);
        const norm: IpvsDest = { ...clone(d), address: canonicalAddress(d.address) };
        if (norm.family === key.family) delete norm.family;
        st.dests.set(id, norm);
        return;
      }
      case 'delDest': {
        const { key, dest: d } = op;
        this.enter(method, [key, d], what);
        const st = this.svc(key, method, what);
        if (!st.dests.delete(destKeyId(d))) throw this.error('ENOENT', method, what);
        return;
      }
    }
  }

  private checkService(s: IpvsService, method: FakeIpvsMethod, what: string): void {
    if (!KNOWN_SCHEDULERS.includes(s.scheduler) || this.missingSchedulers.has(s.scheduler)) throw this.error('ENOENT', method, what);
    if (s.key.family === 6 && s.flags.persistent && (s.netmask < 1 || s.netmask > 128)) throw this.error('EINVAL', method, what);
  }

  private normService(s: IpvsService): IpvsService {
    const c = clone(s);
    if (!('fwmark' in c.key)) c.key = { ...c.key, address: canonicalAddress(c.key.address) };
    return c;
  }

  private svc(key: ServiceKey, method: FakeIpvsMethod, what: string): SvcState {
    const st = this.table.get(serviceKeyId(key));
    if (!st) throw this.error('ESRCH', method, what);
    return st;
  }

  /** Records the call, then fails it when closed or when a fault says so. */
  private enter(method: FakeIpvsMethod, args: unknown[], what: string): void {
    const call: FakeIpvsCall = { method, args: this.record ? clone(args) : [] };
    if (this.record) this.calls.push(call);
    if (this.closed) throw new IpvsClosedError(what);
    for (const f of [...this.faults]) {
      const code = f({ method, args });
      if (code !== undefined) {
        call.error = code;
        throw this.error(code, method, what, false);
      }
    }
  }

  private error(code: string, method: FakeIpvsMethod, what: string, record = true): IpvsError {
    if (record) {
      const last = this.calls[this.calls.length - 1];
      if (last) last.error = code;
    }
    const errno = ERRNO_BY_NAME[code] ?? 5;
    return new IpvsError(errno, COMMAND[method] ?? method, what);
  }
}

/** The op a recorded write call carries out, or undefined for a read. */
function opOfCall(method: FakeIpvsMethod, args: readonly unknown[]): IpvsOp | undefined {
  switch (method) {
    case 'addService':
    case 'editService':
      return { op: method, service: args[0] as IpvsService };
    case 'delService':
      return { op: method, key: args[0] as ServiceKey };
    case 'addDest':
    case 'editDest':
      return { op: method, key: args[0] as ServiceKey, dest: args[1] as IpvsDest };
    case 'delDest':
      return { op: method, key: args[0] as ServiceKey, dest: args[1] as IpvsDest };
    default:
      return undefined;
  }
}
