/**
 * IPv4/IPv6 text ↔ bytes, CIDR parsing and MAC formatting, for the kernel
 * code. Output text is canonical (RFC 5952 for IPv6), so addresses compare as
 * strings.
 */

/** An address family as lvsd names it: 4 or 6. */
export type IpFamily = 4 | 6;

/** A parsed address: family, network-order bytes and canonical text. */
export interface IpAddr {
  family: IpFamily;
  bytes: Uint8Array;
  text: string;
}

/** A parsed CIDR: the address and its prefix length. */
export interface Cidr extends IpAddr {
  prefix: number;
}

/** A bad address or CIDR string. */
export class InvalidAddressError extends Error {
  readonly code = 'ERR_INVALID_ADDRESS';
  constructor(readonly input: string, why: string) {
    super(`invalid address "${input}": ${why}`);
    this.name = 'InvalidAddressError';
  }
}

function parseV4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseV6(s: string): Uint8Array | undefined {
  if (s.includes('%')) return undefined; // zone ids belong to sockets, not addresses
  let head = s;
  let tail = '';
  const dbl = s.indexOf('::');
  if (dbl >= 0) {
    if (s.indexOf('::', dbl + 1) >= 0) return undefined;
    head = s.slice(0, dbl);
    tail = s.slice(dbl + 2);
  }
  const groups = (t: string): number[] | undefined => {
    if (t === '') return [];
    const out: number[] = [];
    const parts = t.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseV4(p);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
      out.push(parseInt(p, 16));
    }
    return out;
  };
  const h = groups(head);
  const t = groups(tail);
  if (!h || !t) return undefined;
  if (dbl < 0 && h.length !== 8) return undefined;
  if (dbl >= 0 && h.length + t.length > 7) return undefined;
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Canonical text of 4 or 16 network-order bytes (RFC 5952 §4 for IPv6: lower case, longest zero run ≥ 2 compressed, first on ties). */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new RangeError(`an IP address is 4 or 16 bytes, not ${b.length}`);
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

/** Parses an IPv4 or IPv6 address; throws InvalidAddressError. */
export function parseIp(s: string): IpAddr {
  const v4 = parseV4(s);
  if (v4) return { family: 4, bytes: v4, text: formatIp(v4) };
  const v6 = parseV6(s);
  if (v6) return { family: 6, bytes: v6, text: formatIp(v6) };
  throw new InvalidAddressError(s, 'not an IPv4 or IPv6 address');
}

/**
 * Parses "addr/prefix"; a bare address means a host prefix (/32 or /128).
 * Host bits may be set (an interface address, not a route). Throws InvalidAddressError.
 */
export function parseCidr(s: string): Cidr {
  const slash = s.indexOf('/');
  const a = parseIp(slash >= 0 ? s.slice(0, slash) : s);
  const max = a.family === 4 ? 32 : 128;
  if (slash < 0) return { ...a, prefix: max };
  const ps = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(ps) || Number(ps) > max) {
    throw new InvalidAddressError(s, `prefix length must be 0..${max}`);
  }
  return { ...a, prefix: Number(ps) };
}

/** "aa:bb:cc:dd:ee:ff" for link-layer bytes (empty string for none). */
export function formatMac(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Parses "aa:bb:cc:dd:ee:ff" (or '-' separated) into 6 bytes; throws InvalidAddressError. */
export function parseMac(s: string): Uint8Array {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new InvalidAddressError(s, 'not a MAC address (aa:bb:cc:dd:ee:ff)');
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}
