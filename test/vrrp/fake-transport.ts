/**
 * A VRRP transport for engine tests: records what is sent and lets the test
 * deliver arrivals; `opened` lists every transport an engine opened, so a
 * test can see sockets re-opened and closed.
 */
import type { Arrival, TransportOptions, VrrpTransport, openTransport } from '../../src/vrrp/io';

/** A transport that records what is sent and lets the test deliver arrivals. */
export class FakeTransport implements VrrpTransport {
  readonly sent: { dst: string; ttl: number; payload: Uint8Array }[] = [];
  closed = false;
  private listener: ((a: Arrival) => void) | undefined;
  constructor(readonly kind: 'raw' | 'udp', readonly options: TransportOptions) {}
  sendTo(payload: Uint8Array, dst: Uint8Array, ttl: number): void {
    if (this.closed) throw new Error('send on a closed fake transport');
    this.sent.push({ dst: [...dst].join('.'), ttl, payload });
  }
  onArrival(listener: (a: Arrival) => void): void {
    this.listener = listener;
  }
  deliver(a: Arrival): void {
    if (!this.closed) this.listener!(a);
  }
  close(): void {
    this.closed = true;
  }
}

/** An `openTransport` for EngineDeps that makes {@link FakeTransport}s and keeps them in `opened`. */
export function fakeOpener(opened: FakeTransport[]): typeof openTransport {
  return (kind, opts) => {
    const t = new FakeTransport(kind, opts);
    opened.push(t);
    return t;
  };
}
