/**
 * The real {@link Ipvs}: the kernel's IPVS table over generic netlink.
 *
 * Writes go out back to back, each with NLM_F_ACK, many per datagram, and
 * their acknowledgements are read asynchronously; at most `maxInFlight`
 * requests wait for an answer at a time, so the socket's receive buffer
 * cannot overflow with ACKs and the event loop is never held for long.
 */
import { readFile } from 'node:fs/promises';
import { NetlinkClosedError, NetlinkError } from '../netlink/errors';
import { GenlSocket, decodeGenl, encodeGenl, type GenlFamily } from '../netlink/genl';
import type { AttrInput } from '../netlink/message';
import type { NetlinkSocketOptions, NlRequest } from '../netlink/socket';
import { IpvsClosedError, IpvsError, IpvsInvalidArgumentError, IpvsUnavailableError } from './errors';
import { IpvsOpWriter } from './ops';
import { parseProcIpvs, type ProcIpvsTable } from './proc';
import type { Ipvs, IpvsReader, IpvsDestEntry, IpvsInfo, IpvsOp, IpvsOpResult, IpvsServiceEntry, IpvsTimeouts, ServiceKey, SyncDaemon, SyncState } from './types';
import { IPVS_GENL_NAME, ipvsCmdName, type IpvsCmd } from './wire/constants';
import { decodeDaemon, decodeDest, decodeInfo, decodeService, decodeTimeouts } from './wire/decode';
import { ipvsRequest, opRequest, type IpvsRequest } from './wire/encode';

const EINVAL = 22;

/** Options of {@link IpvsClient.open}. */
export interface IpvsClientOptions {
  /** Netlink socket options (receive buffer, request timeout). */
  socket?: NetlinkSocketOptions;
  /** Most requests waiting for an answer at once in {@link IpvsClient.apply}; default 256. */
  maxInFlight?: number;
  /** Most messages per datagram in {@link IpvsClient.apply} (the kernel runs them inside one send); default 32. */
  batchSize?: number;
  /** Where {@link IpvsReader.connections} reads; default `/proc/net/ip_vs`. */
  procPath?: string;
  /**
   * Opens the reader's own socket ({@link IpvsClient.reader}); default a new
   * generic netlink socket with `socket`'s options. Absent in tests that hand
   * the constructor one socket: the reader then shares it (dumps queue).
   */
  openReader?: () => GenlSocket;
}

/** Default of {@link IpvsClientOptions.procPath}. */
export const PROC_IP_VS = '/proc/net/ip_vs';

/** An {@link Ipvs} backed by the kernel's IPVS generic netlink family. */
export class IpvsClient extends IpvsOpWriter implements Ipvs {
  private readonly maxInFlight: number;
  private readonly batchSize: number;
  private readonly procPath: string;
  private readonly openReader: (() => GenlSocket) | undefined;
  private readerClient: IpvsClient | undefined;
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
      return new IpvsClient(genl, family, { openReader: () => GenlSocket.open(opts.socket), ...opts });
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
    opts: Pick<IpvsClientOptions, 'maxInFlight' | 'batchSize' | 'procPath' | 'openReader'> = {},
  ) {
    super();
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 256);
    this.batchSize = Math.max(1, Math.min(opts.batchSize ?? 32, this.maxInFlight));
    this.procPath = opts.procPath ?? PROC_IP_VS;
    this.openReader = opts.openReader;
  }

  /**
   * The read side for status and metrics, on a second netlink socket opened
   * on first use: its dumps neither wait behind a long {@link apply} (a cold
   * start writes 11,000 ops) nor meet the reconciler's dumps (the kernel runs
   * one dump per socket and answers a second with EBUSY). A queue on one
   * socket would avoid EBUSY too, but would put a scrape behind every write
   * and dump the reconciler has in flight. When the second socket cannot be
   * opened, reads share the writer's socket, where dumps queue.
   */
  reader(): IpvsReader {
    if (!this.readerClient) {
      let genl: GenlSocket | undefined;
      try {
        genl = this.openReader?.();
      } catch {
        genl = undefined;
      }
      this.readerClient = genl ? new IpvsClient(genl, this.family, { procPath: this.procPath }) : this;
    }
    const r = this.readerClient;
    return { services: () => r.services(), dests: (k) => r.dests(k), connections: () => this.connections() };
  }

  /** `/proc/net/ip_vs` parsed (see {@link IpvsReader.connections}); null when it cannot be read. */
  async connections(): Promise<ProcIpvsTable | null> {
    if (this.closed) throw new IpvsClosedError('reading /proc/net/ip_vs');
    try {
      return parseProcIpvs(await readFile(this.procPath, 'utf8'));
    } catch {
      return null;
    }
  }

  async info(): Promise<IpvsInfo> {
    return decodeInfo(await this.one(ipvsRequest.info()));
  }

  async services(): Promise<IpvsServiceEntry[]> {
    const bodies = await this.call(ipvsRequest.services(), true);
    return bodies.map(decodeService);
  }

  async dests(key: ServiceKey): Promise<IpvsDestEntry[]> {
    const bodies = await this.call(ipvsRequest.dests(key), true);
    return bodies.map((b) => decodeDest(b, key.family));
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
        const r = opRequest(op);
        try {
          reqs.push(this.nlRequest(r, this.encode(r)));
          slots.push({ index: start + i, cmd: r.cmd, action: r.action });
        } catch (e) {
          if (!(e instanceof IpvsError)) throw e;
          results[start + i] = { ok: false, error: e };
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
    await this.call(ipvsRequest.flush());
  }

  async daemons(): Promise<SyncDaemon[]> {
    const bodies = await this.call(ipvsRequest.daemons(), true);
    return bodies.map(decodeDaemon);
  }

  async startDaemon(d: SyncDaemon): Promise<void> {
    await this.call(ipvsRequest.startDaemon(d));
  }

  async stopDaemon(state: SyncState): Promise<void> {
    await this.call(ipvsRequest.stopDaemon(state));
  }

  async timeouts(): Promise<IpvsTimeouts> {
    return decodeTimeouts(await this.one(ipvsRequest.timeouts()));
  }

  async setTimeouts(t: IpvsTimeouts): Promise<void> {
    await this.call(ipvsRequest.setTimeouts(t));
  }

  /** Closes the socket; waiting and later calls reject with IpvsClosedError. */
  close(): void {
    this.closed = true;
    this.genl.close();
    if (this.readerClient && this.readerClient !== this) this.readerClient.close();
  }

  /** One op, as apply() of it alone: rejects with its error. */
  protected async write(op: IpvsOp): Promise<void> {
    const [r] = await this.apply([op]);
    if (r && !r.ok) throw r.error;
  }

  /** `r`'s attributes; a value the wire cannot carry is IpvsError EINVAL, as the kernel would answer it. */
  private encode(r: IpvsRequest): AttrInput[] {
    try {
      return r.encode();
    } catch (e) {
      if (e instanceof IpvsInvalidArgumentError) throw new IpvsError(EINVAL, ipvsCmdName(r.cmd), r.action, e.message);
      throw e;
    }
  }

  private nlRequest(r: IpvsRequest, attrs: AttrInput[], dump = false): NlRequest {
    return { type: this.family.id, payload: encodeGenl(r.cmd, this.family.version, attrs), name: ipvsCmdName(r.cmd), object: r.action, dump };
  }

  /** Sends a command whose answer is one message, resolving with its attribute body; rejects with EINVAL when there is none. */
  private async one(r: IpvsRequest): Promise<Uint8Array> {
    const [a] = await this.call(r);
    if (!a) throw new IpvsError(EINVAL, ipvsCmdName(r.cmd), r.action, 'no answer before the ACK');
    return a;
  }

  /** Sends one command (a dump when `dump`), resolving with the answers' attribute bodies. */
  private async call(r: IpvsRequest, dump = false): Promise<Uint8Array[]> {
    // Encoded first: a value the wire cannot carry is EINVAL even on a closed client.
    const attrs = this.encode(r);
    if (this.closed) throw new IpvsClosedError(r.action);
    try {
      const req = this.nlRequest(r, attrs, dump);
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
