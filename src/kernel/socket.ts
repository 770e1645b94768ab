/**
 * A datagram socket over the native shim: poll for readiness, drain with
 * recvmsg, hand each datagram to a listener. Protocol code above it never
 * sees file descriptors.
 */
import { native, type NativeBinding, type PollHandle, type RecvResult } from './native';

/** Options for {@link NativeSocket}. */
export interface NativeSocketOptions {
  /** Largest datagram to read; longer ones are flagged MSG_TRUNC. Default 65535. */
  maxLen?: number;
  /** Bytes of ancillary data to accept. Default 0. */
  controlLen?: number;
}

/** A non-blocking socket owned by one listener. */
export class NativeSocket {
  readonly fd: number;
  private readonly nb: NativeBinding;
  private poll: PollHandle | undefined;
  private closed = false;
  private readonly maxLen: number;
  private readonly controlLen: number;

  /** Opens socket(domain, type, protocol); throws the shim's errno error. */
  constructor(domain: number, type: number, protocol: number, opts: NativeSocketOptions = {}) {
    this.nb = native();
    this.fd = this.nb.socket(domain, type, protocol);
    this.maxLen = opts.maxLen ?? 65535;
    this.controlLen = opts.controlLen ?? 0;
  }

  bind(sockaddr: Uint8Array): void {
    this.nb.bind(this.fd, sockaddr);
  }

  setsockopt(level: number, name: number, value: Uint8Array): void {
    this.nb.setsockopt(this.fd, level, name, value);
  }

  getsockopt(level: number, name: number, maxLen: number): Buffer {
    return this.nb.getsockopt(this.fd, level, name, maxLen);
  }

  /** Sends one datagram; throws the shim's errno error (EAGAIN included). */
  send(data: Uint8Array, sockaddr: Uint8Array | null = null): number {
    return this.nb.sendto(this.fd, data, sockaddr);
  }

  /** One datagram, or null when none is waiting. */
  recv(): RecvResult | null {
    return this.nb.recvmsg(this.fd, this.maxLen, this.controlLen);
  }

  /**
   * Delivers every datagram to `onMessage` as it arrives. An error reading
   * goes to `onError`; the socket keeps listening.
   */
  listen(onMessage: (msg: RecvResult) => void, onError: (err: Error) => void): void {
    if (this.poll || this.closed) return;
    this.poll = this.nb.pollStart(this.fd, (pollErr) => {
      if (pollErr) {
        onError(new Error(`poll: ${pollErr}`));
        return;
      }
      // Drain, but yield after a bounded batch so one busy socket cannot starve the loop.
      for (let i = 0; i < 256 && !this.closed; i++) {
        let msg: RecvResult | null;
        try {
          msg = this.recv();
        } catch (e) {
          onError(e as Error);
          return;
        }
        if (!msg) return;
        onMessage(msg);
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.poll) this.nb.pollStop(this.poll);
    this.poll = undefined;
    this.nb.close(this.fd);
  }
}
