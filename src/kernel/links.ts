/**
 * The narrow view of network interfaces that VRRP needs: list, look up, and
 * be told of changes. {@link KernelLinks} is the real one over rtnetlink; the
 * fake lives in fake.ts.
 */
import type { NlMessage } from './netlink/message';
import { Rtnl, type RtnlSubscription } from './rtnl/client';
import { RTM, RTNLGRP, parseLink, type Link } from './rtnl/link';

export type { Link, OperState } from './rtnl/link';

/**
 * A change to the set of links. 'new' is an added or changed link (only
 * changes to name, up, running, lowerUp, operstate or mac are reported),
 * 'del' a removed one. 'resync' follows lost notifications (ENOBUFS): it
 * carries the complete current list, and listeners should treat it as truth.
 */
export type LinkChange =
  | { readonly kind: 'new'; readonly link: Link }
  | { readonly kind: 'del'; readonly link: Link }
  | { readonly kind: 'resync'; readonly links: readonly Link[] };

/** Interfaces, as VRRP sees them. */
export interface Links {
  /** Every link, in kernel order. */
  list(): Promise<Link[]>;
  /** The link named `name`, or undefined. */
  get(name: string): Promise<Link | undefined>;
  /**
   * Calls `listener` for every change from now on; returns the unsubscriber.
   * Errors that cannot be recovered go to `onError` when given.
   */
  onChange(listener: (change: LinkChange) => void, onError?: (err: Error) => void): () => void;
  /** Releases sockets; later calls fail. */
  close(): void;
}

function sameState(a: Link, b: Link): boolean {
  return a.name === b.name && a.up === b.up && a.running === b.running && a.lowerUp === b.lowerUp && a.operstate === b.operstate && a.mac === b.mac;
}

/** {@link Links} over rtnetlink: RTM_GETLINK dumps and an RTNLGRP_LINK subscription. */
export class KernelLinks implements Links {
  private sub: RtnlSubscription | undefined;
  private readonly listeners = new Map<(c: LinkChange) => void, ((e: Error) => void) | undefined>();
  private readonly known = new Map<number, Link>();
  private resyncing = false;

  /** Uses `rtnl` for requests (opens its own when omitted, and then closes it in close()). */
  constructor(private readonly rtnl: Rtnl = Rtnl.open(), private readonly ownsRtnl = true) {}

  list(): Promise<Link[]> {
    return this.rtnl.listLinks();
  }

  get(name: string): Promise<Link | undefined> {
    return this.rtnl.getLink(name);
  }

  onChange(listener: (change: LinkChange) => void, onError?: (err: Error) => void): () => void {
    this.listeners.set(listener, onError);
    if (!this.sub) {
      this.sub = Rtnl.subscribe([RTNLGRP.LINK], (m) => this.onMessage(m), () => void this.resync());
      // Learn the current state so the first notification is compared with something.
      void this.rtnl.listLinks().then(
        (links) => {
          for (const l of links) if (!this.known.has(l.index)) this.known.set(l.index, l);
        },
        (e: Error) => this.emitError(e),
      );
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  close(): void {
    this.listeners.clear();
    this.stop();
    if (this.ownsRtnl) this.rtnl.close();
  }

  private stop(): void {
    this.sub?.close();
    this.sub = undefined;
    this.known.clear();
  }

  private onMessage(m: NlMessage): void {
    if (m.type !== RTM.NEWLINK && m.type !== RTM.DELLINK) return;
    let link: Link;
    try {
      link = parseLink(m);
    } catch (e) {
      this.emitError(e as Error);
      return;
    }
    if (m.type === RTM.DELLINK) {
      this.known.delete(link.index);
      this.emit({ kind: 'del', link });
      return;
    }
    const before = this.known.get(link.index);
    this.known.set(link.index, link);
    if (!before || !sameState(before, link)) this.emit({ kind: 'new', link });
  }

  private async resync(): Promise<void> {
    if (this.resyncing) return;
    this.resyncing = true;
    try {
      const links = await this.rtnl.listLinks();
      this.known.clear();
      for (const l of links) this.known.set(l.index, l);
      this.emit({ kind: 'resync', links });
    } catch (e) {
      this.emitError(e as Error);
    } finally {
      this.resyncing = false;
    }
  }

  private emit(c: LinkChange): void {
    for (const l of [...this.listeners.keys()]) l(c);
  }

  private emitError(e: Error): void {
    for (const onError of this.listeners.values()) onError?.(e);
  }
}
