/**
 * A netlink socket: requests matched to answers by sequence number, dumps
 * gathered until NLMSG_DONE, several requests in flight at once (and batched
 * into one send), and multicast notifications handed to listeners.
 *
 * The request/answer logic runs over a {@link NetlinkTransport}, so it is
 * tested against a scripted kernel without root; {@link NetlinkSocket.open}
 * uses the real AF_NETLINK socket.
 */
import { randomInt } from 'node:crypto';
import { AF, MSG, SO, SOCK, SOL, isErrno } from '../native';
import { NativeSocket } from '../socket';
import { hostInt, readHostU32, sockaddrNl } from '../sockaddr';
import {
  NetlinkClosedError,
  NetlinkDumpInterruptedError,
  NetlinkError,
  NetlinkMalformedError,
  NetlinkOverrunError,
  NetlinkTimeoutError,
} from './errors';
import { NETLINK_OPT, NLM_F, NLMSG, concat, encodeMessage, parseDone, parseError, parseMessages, type NlMessage } from './message';

/** Moves datagrams between a {@link NetlinkSocket} and the kernel. */
export interface NetlinkTransport {
  /** Sends one datagram (one or more messages) to the kernel; throws on failure. */
  send(data: Uint8Array): void;
  /**
   * Starts delivery. `groups` is the sender's nl_groups bitmask: non-zero for
   * a multicast notification, 0 for a unicast answer.
   */
  start(onDatagram: (data: Uint8Array, groups: number) => void, onError: (err: Error) => void): void;
  /** Joins multicast group number `group` (NETLINK_ADD_MEMBERSHIP). */
  joinGroup(group: number): void;
  close(): void;
}

/** Options for {@link NetlinkSocket.open}. */
export interface NetlinkSocketOptions {
  /** Receive buffer in bytes; default 1 MiB (4 MiB is wise for busy subscriptions). */
  rcvbuf?: number;
  /** Multicast group numbers to join at once (e.g. RTNLGRP_LINK = 1). */
  groups?: readonly number[];
  /** A request with no answer after this long fails with ETIMEDOUT; default 10000 ms. */
  timeoutMs?: number;
}

/** One request. */
export interface NlRequest {
  /** nlmsg_type (an RTM_* value or a generic netlink family id). */
  type: number;
  /** Extra nlmsg_flags; NLM_F_REQUEST is always set, NLM_F_ACK for every non-dump. */
  flags?: number;
  /** A dump: NLM_F_DUMP is set and the answer runs to NLMSG_DONE. */
  dump?: boolean;
  payload: Uint8Array;
  /** The request's name for errors, e.g. "RTM_NEWADDR". */
  name?: string;
  /** What it is about, for errors, e.g. `192.0.2.1/24 on "eth0"`. */
  object?: string;
}

interface Pending {
  seq: number;
  dump: boolean;
  name: string;
  object: string;
  replies: NlMessage[];
  interrupted: boolean;
  timer: NodeJS.Timeout;
  resolve: (msgs: NlMessage[]) => void;
  reject: (e: Error) => void;
}

/** Listener for multicast notifications. */
export type NotificationListener = (msg: NlMessage, groups: number) => void;

const MAX_BATCH_BYTES = 64 * 1024;

/** A netlink socket with request/answer matching. */
export class NetlinkSocket {
  private readonly pending = new Map<number, Pending>();
  private readonly notifyListeners = new Set<NotificationListener>();
  private readonly errorListeners = new Set<(err: Error) => void>();
  private seq: number;
  private closed = false;
  private readonly timeoutMs: number;
  /** Settles when the last dump asked for has ended (see {@link dump}). */
  private dumpTail: Promise<void> = Promise.resolve();
  /** Dumps asked for and not yet ended. */
  private dumpsQueued = 0;

  /**
   * Opens `socket(AF_NETLINK, SOCK_RAW, protocol)`, sets its receive buffer
   * (SO_RCVBUFFORCE when privileged, else SO_RCVBUF), asks for extended ACKs
   * and capped ACKs, binds with a kernel-chosen port id and joins `groups`.
   * Throws the shim's errno error when the socket cannot be made.
   */
  static open(protocol: number, opts: NetlinkSocketOptions = {}): NetlinkSocket {
    const t = new NativeNetlinkTransport(protocol, opts.rcvbuf ?? 1 << 20);
    const s = new NetlinkSocket(t, opts);
    for (const g of opts.groups ?? []) s.joinGroup(g);
    return s;
  }

  /** Wraps a transport (tests pass a scripted one). */
  constructor(private readonly transport: NetlinkTransport, opts: { timeoutMs?: number } = {}) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.seq = randomInt(1, 0x7fffffff);
    transport.start(
      (data, groups) => this.onDatagram(data, groups),
      (err) => this.onTransportError(err),
    );
  }

  /** Joins multicast group `group`; its messages go to {@link onNotification} listeners. */
  joinGroup(group: number): void {
    this.transport.joinGroup(group);
  }

  /** Adds a listener for multicast notifications; returns its remover. */
  onNotification(listener: NotificationListener): () => void {
    this.notifyListeners.add(listener);
    return () => this.notifyListeners.delete(listener);
  }

  /**
   * Adds a listener for socket-level trouble: NetlinkOverrunError (ENOBUFS:
   * notifications were lost, re-read state), malformed datagrams, read errors.
   */
  onError(listener: (err: Error) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /**
   * Sends one request and resolves with its answer messages: for a dump
   * (`req.dump`) every message up to NLMSG_DONE; otherwise the
   * messages before the ACK (often none). Rejects with NetlinkError when the
   * kernel answers with an errno, NetlinkDumpInterruptedError when a dump was
   * inconsistent, NetlinkOverrunError, NetlinkTimeoutError or NetlinkClosedError.
   */
  request(req: NlRequest): Promise<NlMessage[]> {
    return this.requestAll([req])[0]!;
  }

  /**
   * Sends several requests in as few datagrams as possible (the kernel handles
   * them in order) and returns one promise per request, in order.
   */
  requestAll(reqs: readonly NlRequest[]): Promise<NlMessage[]>[] {
    const promises: Promise<NlMessage[]>[] = [];
    const frames: { seq: number; bytes: Uint8Array }[] = [];
    for (const req of reqs) {
      const seq = this.nextSeq();
      const dump = req.dump === true;
      const flags = (req.flags ?? 0) | (dump ? NLM_F.DUMP : 0);
      const name = req.name ?? `type ${req.type}`;
      const object = req.object ?? '';
      if (this.closed) {
        promises.push(Promise.reject(new NetlinkClosedError(name)));
        continue;
      }
      promises.push(
        new Promise<NlMessage[]>((resolve, reject) => {
          const timer = setTimeout(() => {
            // After a long synchronous stretch (a big config parse) timers run
            // before the socket is read: give this loop turn's I/O phase the
            // chance to deliver an answer that is already waiting.
            setImmediate(() => {
              if (this.pending.get(seq)?.timer !== timer) return;
              this.pending.delete(seq);
              reject(new NetlinkTimeoutError(`${name} ${object}`.trim(), this.timeoutMs));
            });
          }, this.timeoutMs);
          this.pending.set(seq, { seq, dump, name, object, replies: [], interrupted: false, timer, resolve, reject });
        }),
      );
      // Dumps end with NLMSG_DONE; everything else asks for an ACK so success is seen, not assumed.
      const wireFlags = NLM_F.REQUEST | flags | (dump ? 0 : NLM_F.ACK);
      frames.push({ seq, bytes: encodeMessage({ type: req.type, flags: wireFlags, seq, pid: 0, payload: req.payload }) });
    }
    // Batch frames into datagrams of at most MAX_BATCH_BYTES.
    let batch: typeof frames = [];
    let size = 0;
    const flush = (): void => {
      if (batch.length === 0) return;
      const seqs = batch.map((f) => f.seq);
      try {
        this.transport.send(concat(batch.map((f) => f.bytes)));
      } catch (e) {
        for (const s of seqs) this.fail(s, e as Error);
      }
      batch = [];
      size = 0;
    };
    for (const f of frames) {
      if (size + f.bytes.length > MAX_BATCH_BYTES) flush();
      batch.push(f);
      size += f.bytes.length;
    }
    flush();
    return promises;
  }

  /**
   * A dump that is retried (up to `tries` times) while the kernel flags it
   * inconsistent with NLM_F_DUMP_INTR. Dumps on one socket run one at a
   * time, in call order: the kernel keeps one dump per socket and refuses a
   * second with EBUSY while the first is still being read
   * (af_netlink.c `netlink_dump_start`), so a later dump waits for the one
   * before it instead of failing.
   */
  dump(req: NlRequest, tries = 3): Promise<NlMessage[]> {
    // With no dump running it goes out at once (in this call), as a request does.
    const run = this.dumpsQueued === 0 ? this.dumpNow(req, tries) : this.dumpTail.then(() => this.dumpNow(req, tries));
    this.dumpsQueued++;
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.dumpTail = settled.then(() => {
      this.dumpsQueued--;
    });
    return run;
  }

  private async dumpNow(req: NlRequest, tries: number): Promise<NlMessage[]> {
    for (let i = 1; ; i++) {
      try {
        return await this.request({ ...req, dump: true });
      } catch (e) {
        if (!(e instanceof NetlinkDumpInterruptedError) || i >= tries) {
          if (e instanceof NetlinkDumpInterruptedError) throw new NetlinkDumpInterruptedError(req.name ?? `type ${req.type}`, i);
          throw e;
        }
      }
    }
  }

  /** Number of requests waiting for an answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Closes the socket; waiting requests fail with NetlinkClosedError. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.close();
    for (const p of [...this.pending.values()]) this.fail(p.seq, new NetlinkClosedError(p.name));
  }

  private nextSeq(): number {
    this.seq = (this.seq % 0x7fffffff) + 1;
    return this.seq;
  }

  private fail(seq: number, err: Error): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    clearTimeout(p.timer);
    p.reject(err);
  }

  private finish(p: Pending): void {
    this.pending.delete(p.seq);
    clearTimeout(p.timer);
    p.resolve(p.replies);
  }

  private onDatagram(data: Uint8Array, groups: number): void {
    let msgs: NlMessage[];
    try {
      msgs = parseMessages(data);
    } catch (e) {
      this.emitError(e as Error);
      return;
    }
    for (const m of msgs) {
      const p = groups === 0 ? this.pending.get(m.seq) : undefined;
      if (!p) {
        // Multicast, or a kernel-originated message (seq 0). Late answers to
        // requests already failed (timeout, overrun) are dropped.
        if (groups !== 0 || m.seq === 0) for (const l of this.notifyListeners) l(m, groups);
        continue;
      }
      try {
        this.onReply(p, m);
      } catch (e) {
        this.fail(p.seq, e as Error);
      }
    }
  }

  private onReply(p: Pending, m: NlMessage): void {
    if (m.flags & NLM_F.DUMP_INTR) p.interrupted = true;
    if (m.type === NLMSG.ERROR) {
      const e = parseError(m);
      if (e.error === 0) {
        this.finish(p);
        return;
      }
      this.fail(p.seq, new NetlinkError(-e.error, p.name, p.object, e.extackMessage));
      return;
    }
    if (m.type === NLMSG.DONE) {
      const err = parseDone(m);
      if (err < 0) this.fail(p.seq, new NetlinkError(-err, p.name, p.object));
      else if (p.interrupted) this.fail(p.seq, new NetlinkDumpInterruptedError(p.name, 1));
      else this.finish(p);
      return;
    }
    if (m.type === NLMSG.NOOP) return;
    if (m.type === NLMSG.OVERRUN) {
      this.fail(p.seq, new NetlinkOverrunError(`NLMSG_OVERRUN answering ${p.name}`));
      return;
    }
    p.replies.push(m);
  }

  private onTransportError(err: Error): void {
    if (isErrno(err, 'ENOBUFS')) {
      // Answers may have been dropped with the notifications: in-flight
      // requests cannot be trusted to complete.
      const overrun = new NetlinkOverrunError('recvmsg returned ENOBUFS');
      for (const p of [...this.pending.values()]) this.fail(p.seq, overrun);
      this.emitError(overrun);
      return;
    }
    this.emitError(err);
  }

  private emitError(err: Error): void {
    for (const l of this.errorListeners) l(err);
  }
}

/** The real transport: an AF_NETLINK raw socket through the native shim. */
class NativeNetlinkTransport implements NetlinkTransport {
  private readonly sock: NativeSocket;
  private readonly kernel = sockaddrNl(0, 0);

  constructor(protocol: number, rcvbuf: number) {
    // 64 KiB covers the kernel's largest dump skb (it caps them at 32 KiB).
    this.sock = new NativeSocket(AF.NETLINK, SOCK.RAW, protocol, { maxLen: 65536 });
    try {
      try {
        this.sock.setsockopt(SOL.SOCKET, SO.RCVBUFFORCE, hostInt(rcvbuf));
      } catch {
        this.sock.setsockopt(SOL.SOCKET, SO.RCVBUF, hostInt(rcvbuf));
      }
      // Extended ACK text and capped ACKs are optional comforts; old kernels lack them.
      for (const opt of [NETLINK_OPT.EXT_ACK, NETLINK_OPT.CAP_ACK]) {
        try {
          this.sock.setsockopt(SOL.NETLINK, opt, hostInt(1));
        } catch {
          /* not supported: plain ACKs still work */
        }
      }
      this.sock.bind(sockaddrNl(0, 0));
    } catch (e) {
      this.sock.close();
      throw e;
    }
  }

  send(data: Uint8Array): void {
    this.sock.send(data, this.kernel);
  }

  start(onDatagram: (data: Uint8Array, groups: number) => void, onError: (err: Error) => void): void {
    this.sock.listen(
      (msg) => {
        if (msg.flags & MSG.TRUNC) {
          onError(new NetlinkMalformedError(`datagram truncated at ${msg.data.length} bytes`));
          return;
        }
        const groups = msg.addr.length >= 12 ? readHostU32(msg.addr, 8) : 0;
        onDatagram(msg.data, groups);
      },
      onError,
    );
  }

  joinGroup(group: number): void {
    this.sock.setsockopt(SOL.NETLINK, NETLINK_OPT.ADD_MEMBERSHIP, hostInt(group));
  }

  close(): void {
    this.sock.close();
  }
}
