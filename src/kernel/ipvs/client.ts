/**
 * The real {@link Ipvs}: the kernel's IPVS table over generic netlink.
 *
 * Writes go out back to back, each with NLM_F_ACK, many per datagram, and
 * their acknowledgements are read asynchronously; at most `maxInFlight`
 * requests wait for an answer at a time, so the socket's receive buffer
 * cannot overflow with ACKs and the event loop is never held for long.
 */
import { NetlinkClosedError, NetlinkError } from '../netlink/errors';
import { GenlSocket, decodeGenl, encodeGenl, type GenlFamily } from '../netlink/genl';
import type { AttrInput } from '../netlink/message';
import type { NetlinkSocketOptions, NlRequest } from '../netlink/socket';
import { formatServiceKey, opAction } from './addr';
import { IpvsClosedError, IpvsError, IpvsInvalidArgumentError, IpvsUnavailableError } from './errors';
import type {
  DestKey,
  Ipvs,
  IpvsDest,
  IpvsDestEntry,
  IpvsInfo,
  IpvsOp,
  IpvsOpResult,
  IpvsService,
  IpvsServiceEntry,
  IpvsTimeouts,
  ServiceKey,
  SyncDaemon,
  SyncState,
} from './types';
import { IPVS_CMD, IPVS_GENL_NAME, ipvsCmdName, type IpvsCmd } from './wire/constants';
import { decodeDaemon, decodeDest, decodeInfo, decodeService, decodeTimeouts } from './wire/decode';
import { daemonNest, daemonRefNest, destNest, destRefNest, serviceKeyNest, serviceNest, serviceRefNest, timeoutAttrs } from './wire/encode';

const EINVAL = 22;

/** Options of {@link IpvsClient.open}. */
export interface IpvsClientOptions {
  /** Netlink socket options (receive buffer, request timeout). */
  socket?: NetlinkSocketOptions;
  /** Most requests waiting for an answer at once in {@link IpvsClient.apply}; default 256. */
  maxInFlight?: number;
  /** Most messages per datagram in {@link IpvsClient.apply} (the kernel runs them inside one send); default 32. */
  batchSize?: number;
}

/** One encoded command: what to send and how to name it in errors. */
export interface IpvsRequest {
  cmd: IpvsCmd;
  attrs: AttrInput[];
  action: string;
}

/**
 * The command and attributes of a write op, exactly as ipvsadm would send
 * them. Throws IpvsInvalidArgumentError when a value cannot be encoded.
 */
export function encodeOp(op: IpvsOp): IpvsRequest {
  const action = opAction(op);
  switch (op.op) {
    case 'addService':
      return { cmd: IPVS_CMD.NEW_SERVICE, attrs: [serviceNest(op.service)], action };
    case 'editService':
      return { cmd: IPVS_CMD.SET_SERVICE, attrs: [serviceNest(op.service)], action };
    case 'delService':
      return { cmd: IPVS_CMD.DEL_SERVICE, attrs: [serviceRefNest(op.key)], action };
    case 'addDest':
      return { cmd: IPVS_CMD.NEW_DEST, attrs: [serviceRefNest(op.key), destNest(op.key.family, op.dest)], action };
    case 'editDest':
      return { cmd: IPVS_CMD.SET_DEST, attrs: [serviceRefNest(op.key), destNest(op.key.family, op.dest)], action };
    case 'delDest':
      return { cmd: IPVS_CMD.DEL_DEST, attrs: [serviceRefNest(op.key), destRefNest(op.key.family, op.dest)], action };
  }
}

/** An {@link Ipvs} backed by the kernel's IPVS generic netlink family. */
export class IpvsClient implements Ipvs {
  private readonly maxInFlight: number;
  private readonly batchSize: number;
  private closed = false;

  /**
   * Opens a generic netlink socket and resolves the "IPVS" family. Rejects
   * with IpvsUnavailableError when the kernel has no IPVS (module not loaded),
   * or with the socket's error when netlink itself fails.
   */
  static async open(opts: IpvsClientOptions = {}): Promise<IpvsClient> {
    const genl = GenlSocket.open(opts.socket);
    try {
      const family = await genl.resolveFamily(IPVS_GENL_NAME);
      return new IpvsClient(genl, family, opts);
    } catch (e) {
      genl.close();
      if (e instanceof NetlinkError && e.code === 'ENOENT') throw new IpvsUnavailableError('no "IPVS" generic netlink family');
      throw e;
    }
  }

  /** Wraps an open socket and the resolved family (tests pass a scripted socket). */
  constructor(
    private readonly genl: GenlSocket,
    /** The resolved IPVS family (its id is the nlmsg_type of every request). */
    readonly family: GenlFamily,
    opts: Pick<IpvsClientOptions, 'maxInFlight' | 'batchSize'> = {},
  ) {
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 256);
    this.batchSize = Math.max(1, Math.min(opts.batchSize ?? 32, this.maxInFlight));
  }

  async info(): Promise<IpvsInfo> {
    const [a] = await this.call({ cmd: IPVS_CMD.GET_INFO, attrs: [], action: 'reading IPVS info' });
    if (!a) throw new IpvsError(EINVAL, 'IPVS_CMD_GET_INFO', 'reading IPVS info', 'no answer before the ACK');
    return decodeInfo(a);
  }

  async services(): Promise<IpvsServiceEntry[]> {
    const bodies = await this.call({ cmd: IPVS_CMD.GET_SERVICE, attrs: [], action: 'listing services' }, true);
    return bodies.map(decodeService);
  }

  async dests(key: ServiceKey): Promise<IpvsDestEntry[]> {
    const action = `listing dests of ${formatServiceKey(key)}`;
    const bodies = await this.call({ cmd: IPVS_CMD.GET_DEST, attrs: this.encode(() => [serviceKeyNest(key)], IPVS_CMD.GET_DEST, action), action }, true);
    return bodies.map((b) => decodeDest(b, key.family));
  }

  addService(s: IpvsService): Promise<void> {
    return this.one({ op: 'addService', service: s });
  }
  editService(s: IpvsService): Promise<void> {
    return this.one({ op: 'editService', service: s });
  }
  delService(key: ServiceKey): Promise<void> {
    return this.one({ op: 'delService', key });
  }
  addDest(key: ServiceKey, d: IpvsDest): Promise<void> {
    return this.one({ op: 'addDest', key, dest: d });
  }
  editDest(key: ServiceKey, d: IpvsDest): Promise<void> {
    return this.one({ op: 'editDest', key, dest: d });
  }
  delDest(key: ServiceKey, d: DestKey): Promise<void> {
    return this.one({ op: 'delDest', key, dest: d });
  }

  /**
   * Applies `ops` in order. They go out in datagrams of at most `batchSize`
   * messages, each with NLM_F_ACK (the kernel handles a datagram's messages in
   * order, inside the send, and answers each); the event loop gets a turn
   * between datagrams, and no more than `maxInFlight` requests wait for their
   * answers at once. Resolves with one result per op: a kernel refusal (or a
   * value that cannot be encoded, as EINVAL) is a result, not a rejection.
   * Rejects only when the socket fails (IpvsClosedError, NetlinkOverrunError,
   * NetlinkTimeoutError): then which ops took effect is unknown and the table
   * must be re-read.
   */
  async apply(ops: readonly IpvsOp[]): Promise<IpvsOpResult[]> {
    if (this.closed) throw new IpvsClosedError('applying IPVS changes');
    const results: IpvsOpResult[] = new Array(ops.length);
    const waiting: Promise<void>[] = [];
    let failure: Error | undefined;
    let inFlight = 0;
    for (let start = 0; start < ops.length && !failure; start += this.batchSize) {
      const reqs: NlRequest[] = [];
      const slots: { index: number; cmd: IpvsCmd; action: string }[] = [];
      ops.slice(start, start + this.batchSize).forEach((op, i) => {
        try {
          const r = encodeOp(op);
          reqs.push(this.nlRequest(r));
          slots.push({ index: start + i, cmd: r.cmd, action: r.action });
        } catch (e) {
          if (!(e instanceof IpvsInvalidArgumentError)) throw e;
          results[start + i] = { ok: false, error: new IpvsError(EINVAL, ipvsCmdName(cmdOf(op)), opAction(op), e.message) };
        }
      });
      while (inFlight > 0 && inFlight + reqs.length > this.maxInFlight) await Promise.race(waiting);
      inFlight += reqs.length;
      this.genl.nl.requestAll(reqs).forEach((p, i) => {
        const slot = slots[i]!;
        const done = p.then(
          () => {
            results[slot.index] = { ok: true };
          },
          (err: unknown) => {
            if (err instanceof NetlinkError) results[slot.index] = { ok: false, error: new IpvsError(err.errno, ipvsCmdName(slot.cmd), slot.action, err.extack) };
            else failure ??= this.mapError(err, slot.cmd, slot.action);
          },
        );
        const tracked: Promise<void> = done.finally(() => {
          inFlight--;
          waiting.splice(waiting.indexOf(tracked), 1);
        });
        waiting.push(tracked);
      });
      // The kernel did this datagram's work inside the send: let timers and I/O run before the next.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await Promise.all(waiting);
    if (failure) throw failure;
    return results;
  }

  async flush(): Promise<void> {
    await this.call({ cmd: IPVS_CMD.FLUSH, attrs: [], action: 'flushing the IPVS table' });
  }

  async daemons(): Promise<SyncDaemon[]> {
    const bodies = await this.call({ cmd: IPVS_CMD.GET_DAEMON, attrs: [], action: 'listing sync daemons' }, true);
    return bodies.map(decodeDaemon);
  }

  async startDaemon(d: SyncDaemon): Promise<void> {
    const action = `starting ${d.state} sync daemon on ${d.ifname}`;
    await this.call({ cmd: IPVS_CMD.NEW_DAEMON, attrs: this.encode(() => [daemonNest(d)], IPVS_CMD.NEW_DAEMON, action), action });
  }

  async stopDaemon(state: SyncState): Promise<void> {
    await this.call({ cmd: IPVS_CMD.DEL_DAEMON, attrs: [daemonRefNest(state)], action: `stopping ${state} sync daemon` });
  }

  async timeouts(): Promise<IpvsTimeouts> {
    const [a] = await this.call({ cmd: IPVS_CMD.GET_CONFIG, attrs: [], action: 'reading timeouts' });
    if (!a) throw new IpvsError(EINVAL, 'IPVS_CMD_GET_CONFIG', 'reading timeouts', 'no answer before the ACK');
    return decodeTimeouts(a);
  }

  async setTimeouts(t: IpvsTimeouts): Promise<void> {
    const action = 'setting timeouts';
    await this.call({ cmd: IPVS_CMD.SET_CONFIG, attrs: this.encode(() => timeoutAttrs(t), IPVS_CMD.SET_CONFIG, action), action });
  }

  /** Closes the socket; waiting and later calls reject with IpvsClosedError. */
  close(): void {
    this.closed = true;
    this.genl.close();
  }

  private async one(op: IpvsOp): Promise<void> {
    const [r] = await this.apply([op]);
    if (r && !r.ok) throw r.error;
  }

  /** Encodes with `f`, turning an unencodable value into IpvsError EINVAL. */
  private encode(f: () => AttrInput[], cmd: IpvsCmd, action: string): AttrInput[] {
    try {
      return f();
    } catch (e) {
      if (e instanceof IpvsInvalidArgumentError) throw new IpvsError(EINVAL, ipvsCmdName(cmd), action, e.message);
      throw e;
    }
  }

  private nlRequest(r: IpvsRequest, dump = false): NlRequest {
    return { type: this.family.id, payload: encodeGenl(r.cmd, this.family.version, r.attrs), name: ipvsCmdName(r.cmd), object: r.action, dump };
  }

  /** Sends one command (a dump when `dump`), resolving with the answers' attribute bodies. */
  private async call(r: IpvsRequest, dump = false): Promise<Uint8Array[]> {
    if (this.closed) throw new IpvsClosedError(r.action);
    try {
      const req = this.nlRequest(r, dump);
      const msgs = dump ? await this.genl.nl.dump(req) : await this.genl.nl.request(req);
      return msgs.map((m) => decodeGenl(m.payload).body);
    } catch (e) {
      throw this.mapError(e, r.cmd, r.action);
    }
  }

  private mapError(e: unknown, cmd: IpvsCmd, action: string): Error {
    if (e instanceof NetlinkError) return new IpvsError(e.errno, ipvsCmdName(cmd), action, e.extack);
    if (e instanceof NetlinkClosedError) return new IpvsClosedError(action);
    return e as Error;
  }
}

function cmdOf(op: IpvsOp): IpvsCmd {
  switch (op.op) {
    case 'addService':
      return IPVS_CMD.NEW_SERVICE;
    case 'editService':
      return IPVS_CMD.SET_SERVICE;
    case 'delService':
      return IPVS_CMD.DEL_SERVICE;
    case 'addDest':
      return IPVS_CMD.NEW_DEST;
    case 'editDest':
      return IPVS_CMD.SET_DEST;
    case 'delDest':
      return IPVS_CMD.DEL_DEST;
  }
}
