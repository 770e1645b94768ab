/**
 * An in-memory kernel for `--dry-run` and tests: links, addresses and an
 * announcer that behave like the real ones (same success tolerances, same
 * error classes and codes) and record every call.
 */
import type { Announcer, AnnounceOptions } from './arp/sender';
import { AnnounceError } from './arp/sender';
import type { AddrChange, AddressEvent, Addresses, IfAddress, IpFamily } from './addresses';
import { pickLinkLocalIPv6, pickPrimaryIPv4 } from './addresses';
import type { Link, LinkChange, Links } from './links';
import { ERRNO, NetlinkError } from './netlink/errors';
import { IFA_F, RT_SCOPE } from './rtnl/addr';
import { parseCidr, parseIp } from './rtnl/inet';
import { IFF } from './rtnl/link';

/** One recorded call. */
export interface FakeCall {
  op: 'links.list' | 'links.get' | 'addr.list' | 'addr.add' | 'addr.remove' | 'addr.primaryIPv4' | 'addr.linkLocalIPv6' | 'announce';
  args: readonly unknown[];
}

/** The state of a fake link that tests may set. */
export interface FakeLinkSpec {
  name: string;
  index?: number;
  mac?: string;
  up?: boolean;
  lowerUp?: boolean;
  mtu?: number;
}

/**
 * The shared state behind {@link FakeLinks}, {@link FakeAddresses} and
 * {@link FakeAnnouncer}: create one, add links, hand its parts to the code under test.
 */
export class FakeKernel {
  /** Every call in order. */
  readonly calls: FakeCall[] = [];
  readonly links: FakeLinks;
  readonly addresses: FakeAddresses;
  readonly announcer: FakeAnnouncer;
  private readonly byName = new Map<string, Link>();
  private readonly addrs = new Map<number, IfAddress[]>();
  private readonly failures: { op: FakeCall['op']; error: Error }[] = [];
  private nextIndex = 1;
  /** @internal */ readonly listeners = new Set<(c: LinkChange) => void>();
  /** @internal */ readonly addrListeners = new Set<(e: AddressEvent) => void>();

  constructor() {
    this.links = new FakeLinks(this);
    this.addresses = new FakeAddresses(this);
    this.announcer = new FakeAnnouncer(this);
  }

  /** Adds (or replaces) a link; up and lowerUp default to true. Emits a 'new' change. */
  addLink(spec: FakeLinkSpec): Link {
    const old = this.byName.get(spec.name);
    const index = spec.index ?? old?.index ?? this.nextIndex++;
    this.nextIndex = Math.max(this.nextIndex, index + 1);
    const link = makeLink(index, spec.name, spec.mac ?? fakeMac(index), spec.up ?? true, spec.lowerUp ?? true, spec.mtu ?? 1500);
    this.byName.set(spec.name, link);
    if (!this.addrs.has(index)) this.addrs.set(index, []);
    this.emit({ kind: 'new', link });
    return link;
  }

  /** Changes a link's admin state and/or carrier (a cable pull); emits 'new' when something changed. */
  setLink(name: string, state: { up?: boolean; lowerUp?: boolean }): Link {
    const l = this.byName.get(name);
    if (!l) throw new Error(`fake kernel: no link "${name}"`);
    const next = makeLink(l.index, l.name, l.mac, state.up ?? l.up, state.lowerUp ?? l.lowerUp, l.mtu);
    this.byName.set(name, next);
    if (next.up !== l.up || next.running !== l.running || next.lowerUp !== l.lowerUp) this.emit({ kind: 'new', link: next });
    return next;
  }

  /** Removes a link and its addresses; emits an address 'del' for each (as the kernel does), then the link's 'del'. */
  removeLink(name: string): void {
    const l = this.byName.get(name);
    if (!l) return;
    this.byName.delete(name);
    const gone = this.addrs.get(l.index) ?? [];
    this.addrs.delete(l.index);
    for (const a of gone) this.emitAddr({ kind: 'del', address: { ...a } });
    this.emit({ kind: 'del', link: l });
  }

  /**
   * Adds an address as someone else would (`ip addr add`): not recorded as a
   * call, emits the address 'new'. Returns what the kernel would say.
   */
  addAddress(ifname: string, cidr: string): AddrChange {
    return this.addressAdd(ifname, cidr);
  }

  /** Removes an address as someone else would (`ip addr del`): not recorded, emits the address 'del'. */
  removeAddress(ifname: string, cidr: string): AddrChange {
    return this.addressRemove(ifname, cidr);
  }

  /** @internal */ addressAdd(ifname: string, cidr: string): AddrChange {
    const c = parseCidr(cidr);
    const l = this.byName.get(ifname);
    if (!l) throw new NetlinkError(ERRNO.ENODEV, 'RTM_NEWADDR', `${c.text}/${c.prefix} on "${ifname}"`);
    const list = this.addrList(l.index);
    if (list.some((a) => a.address === c.text && (c.family === 6 || a.prefix === c.prefix))) return 'existed';
    // Like the kernel: a second IPv4 address in an existing subnet becomes secondary.
    const secondary = c.family === 4 && list.some((a) => a.family === 4 && !a.secondary && a.prefix === c.prefix && sameSubnet(a.address, c.text, c.prefix));
    const flags = IFA_F.PERMANENT | (c.family === 6 ? IFA_F.NODAD : 0) | (secondary ? IFA_F.SECONDARY : 0);
    const entry: IfAddress = { ifindex: l.index, family: c.family, address: c.text, prefix: c.prefix, scope: RT_SCOPE.UNIVERSE, flags, secondary, label: c.family === 4 ? ifname : '' };
    // Like inet_insert_ifa: a primary goes after the last primary, a secondary at the end.
    const firstSecondary = list.findIndex((a) => a.family === 4 && a.secondary);
    if (!secondary && c.family === 4 && firstSecondary >= 0) list.splice(firstSecondary, 0, entry);
    else list.push(entry);
    this.emitAddr({ kind: 'new', address: { ...entry } });
    return 'added';
  }

  /** @internal */ addressRemove(ifname: string, cidr: string): AddrChange {
    const c = parseCidr(cidr);
    const l = this.byName.get(ifname);
    if (!l) throw new NetlinkError(ERRNO.ENODEV, 'RTM_DELADDR', `${c.text}/${c.prefix} on "${ifname}"`);
    const list = this.addrList(l.index);
    const i = list.findIndex((a) => a.address === c.text && a.prefix === c.prefix);
    if (i < 0) return 'absent';
    const [gone] = list.splice(i, 1);
    this.emitAddr({ kind: 'del', address: { ...gone! } });
    return 'removed';
  }

  /** Emits an address 'resync' with every current address, as after lost notifications. */
  resyncAddresses(): void {
    this.emitAddr({ kind: 'resync', addresses: this.linkList().flatMap((l) => this.addrList(l.index).map((a) => ({ ...a }))) });
  }

  /** Emits a 'resync' with the current links, as after lost notifications. */
  resync(): void {
    this.emit({ kind: 'resync', links: this.linkList() });
  }

  /** Makes the next call of `op` fail with `error` (e.g. `new NetlinkError(ERRNO.EPERM, 'RTM_NEWADDR', 'x')`). */
  failNext(op: FakeCall['op'], error: Error): void {
    this.failures.push({ op, error });
  }

  /** Current addresses of `ifname` as "addr/prefix" strings, in order. */
  addressesOf(ifname: string): string[] {
    const l = this.byName.get(ifname);
    return l ? (this.addrs.get(l.index) ?? []).map((a) => `${a.address}/${a.prefix}`) : [];
  }

  /** The recorded calls of one kind. */
  callsOf(op: FakeCall['op']): FakeCall[] {
    return this.calls.filter((c) => c.op === op);
  }

  /** @internal */ record(op: FakeCall['op'], ...args: unknown[]): void {
    this.calls.push({ op, args });
    const i = this.failures.findIndex((f) => f.op === op);
    if (i >= 0) {
      const [f] = this.failures.splice(i, 1);
      throw f!.error;
    }
  }

  /** @internal */ linkList(): Link[] {
    return [...this.byName.values()].sort((a, b) => a.index - b.index);
  }

  /** @internal */ link(name: string): Link | undefined {
    return this.byName.get(name);
  }

  /** @internal */ linkByIndex(index: number): Link | undefined {
    return this.linkList().find((l) => l.index === index);
  }

  /** @internal */ addrList(index: number): IfAddress[] {
    return this.addrs.get(index) ?? [];
  }

  private emit(c: LinkChange): void {
    for (const l of [...this.listeners]) l(c);
  }

  private emitAddr(e: AddressEvent): void {
    for (const l of [...this.addrListeners]) l(e);
  }
}

function makeLink(index: number, name: string, mac: string, up: boolean, lowerUp: boolean, mtu: number): Link {
  const running = up && lowerUp;
  const flags = (up ? IFF.UP : 0) | (running ? IFF.RUNNING : 0) | (up && lowerUp ? IFF.LOWER_UP : 0) | IFF.BROADCAST | IFF.MULTICAST;
  return { index, name, up, running, lowerUp: up && lowerUp, operstate: !up ? 'down' : lowerUp ? 'up' : 'lowerlayerdown', mac, mtu, flags, type: 1 };
}

function fakeMac(index: number): string {
  // Locally administered (bit 1 of the first octet), unique per index.
  return `02:00:00:00:${((index >> 8) & 0xff).toString(16).padStart(2, '0')}:${(index & 0xff).toString(16).padStart(2, '0')}`;
}

/** {@link Links} over a {@link FakeKernel}. */
export class FakeLinks implements Links {
  constructor(private readonly k: FakeKernel) {}

  async list(): Promise<Link[]> {
    this.k.record('links.list');
    return this.k.linkList();
  }

  async get(name: string): Promise<Link | undefined> {
    this.k.record('links.get', name);
    return this.k.link(name);
  }

  onChange(listener: (change: LinkChange) => void): () => void {
    this.k.listeners.add(listener);
    return () => this.k.listeners.delete(listener);
  }

  close(): void {}
}

/** {@link Addresses} over a {@link FakeKernel}, with the kernel's tolerances and errors. */
export class FakeAddresses implements Addresses {
  constructor(private readonly k: FakeKernel) {}

  async list(iface: string | number, family?: IpFamily): Promise<IfAddress[]> {
    this.k.record('addr.list', iface, family);
    const l = typeof iface === 'number' ? this.k.linkByIndex(iface) : this.k.link(iface);
    if (!l) throw new NetlinkError(ERRNO.ENODEV, 'RTM_GETADDR', `interface "${iface}"`);
    return this.k.addrList(l.index).filter((a) => !family || a.family === family).map((a) => ({ ...a }));
  }

  async add(ifname: string, cidr: string): Promise<AddrChange> {
    this.k.record('addr.add', ifname, cidr);
    return this.k.addressAdd(ifname, cidr);
  }

  async remove(ifname: string, cidr: string): Promise<AddrChange> {
    this.k.record('addr.remove', ifname, cidr);
    return this.k.addressRemove(ifname, cidr);
  }

  onChange(listener: (event: AddressEvent) => void): () => void {
    this.k.addrListeners.add(listener);
    return () => this.k.addrListeners.delete(listener);
  }

  async primaryIPv4(ifname: string): Promise<string | undefined> {
    this.k.record('addr.primaryIPv4', ifname);
    const l = this.k.link(ifname);
    if (!l) throw new NetlinkError(ERRNO.ENODEV, 'RTM_GETADDR', `interface "${ifname}"`);
    return pickPrimaryIPv4(this.k.addrList(l.index));
  }

  async linkLocalIPv6(ifname: string): Promise<string | undefined> {
    this.k.record('addr.linkLocalIPv6', ifname);
    const l = this.k.link(ifname);
    if (!l) throw new NetlinkError(ERRNO.ENODEV, 'RTM_GETADDR', `interface "${ifname}"`);
    return pickLinkLocalIPv6(this.k.addrList(l.index));
  }

  /** Adds the link-local address the kernel would give the link (EUI-64 of its MAC, RFC 4291 App. A); test setup only, not recorded. */
  addLinkLocal(ifname: string): string {
    const l = this.k.link(ifname);
    if (!l) throw new Error(`fake kernel: no link "${ifname}"`);
    const m = l.mac.split(':').map((x) => parseInt(x, 16));
    const hex = (a: number, b: number): string => ((a << 8) | b).toString(16);
    const ll = parseIp(`fe80::${hex(m[0]! ^ 2, m[1]!)}:${hex(m[2]!, 0xff)}:${hex(0xfe, m[3]!)}:${hex(m[4]!, m[5]!)}`).text;
    this.k.addrList(l.index).push({ ifindex: l.index, family: 6, address: ll, prefix: 64, scope: RT_SCOPE.LINK, flags: IFA_F.PERMANENT, secondary: false, label: '' });
    return ll;
  }

  close(): void {}
}

function sameSubnet(a: string, b: string, prefix: number): boolean {
  const x = parseIp(a).bytes;
  const y = parseIp(b).bytes;
  for (let bit = 0; bit < prefix; bit++) {
    const m = 0x80 >> bit % 8;
    if ((x[bit >> 3]! & m) !== (y[bit >> 3]! & m)) return false;
  }
  return true;
}

/** {@link Announcer} that records what it would send; fails like the real one for a missing link. */
export class FakeAnnouncer implements Announcer {
  /** Every VIP announced, in order, with the interface. */
  readonly sent: { ifname: string; vip: string; router: boolean }[] = [];

  constructor(private readonly k: FakeKernel) {}

  async announce(ifname: string, vips: readonly string[], opts: AnnounceOptions = {}): Promise<number> {
    this.k.record('announce', ifname, [...vips], opts);
    if (!this.k.link(ifname)) throw new AnnounceError(ifname, [], `cannot announce on "${ifname}": no such interface`);
    const failures: { vip: string; error: Error }[] = [];
    for (const vip of vips) {
      try {
        parseIp(vip.split('/')[0]!);
        this.sent.push({ ifname, vip, router: opts.router ?? false });
      } catch (e) {
        failures.push({ vip, error: e as Error });
      }
    }
    if (failures.length > 0) throw new AnnounceError(ifname, failures);
    return vips.length;
  }

  close(): void {}
}
