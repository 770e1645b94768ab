/**
 * Address text ↔ bytes for IPVS, and the canonical keys and labels of
 * services and dests (used in error messages, maps and logs).
 */
import { IpvsInvalidArgumentError } from './errors';
import type { DestKey, Family, IpvsOp, ServiceKey } from './types';

/** Parses dotted-quad IPv4 text; undefined when it is not one. */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

/** Parses IPv6 text (with `::` and an optional trailing dotted quad); undefined when it is not one. */
export function parseIPv6(text: string): Uint8Array | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Writes 4 or 16 address bytes as text; IPv6 in RFC 5952 form (longest zero run ≥ 2 groups compressed, lower case). */
export function formatAddress(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Address bytes for `family` (4 or 16 bytes); throws IpvsInvalidArgumentError when `text` is not an address of that family. */
export function addressBytes(family: Family, text: string): Uint8Array {
  const b = family === 4 ? parseIPv4(text) : parseIPv6(text);
  if (!b) throw new IpvsInvalidArgumentError(`"${text}" is not an IPv${family} address`);
  return b;
}

/** The family of address text, or undefined when it is neither. */
export function addressFamily(text: string): Family | undefined {
  if (parseIPv4(text)) return 4;
  if (parseIPv6(text)) return 6;
  return undefined;
}

/** The canonical text of an address (RFC 5952 for IPv6); throws IpvsInvalidArgumentError when it is none. */
export function canonicalAddress(text: string): string {
  const fam = addressFamily(text);
  if (!fam) throw new IpvsInvalidArgumentError(`"${text}" is not an IP address`);
  return formatAddress(addressBytes(fam, text));
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** A service's label as ipvsadm shows it: `TCP 192.0.2.100:80`, `UDP [2001:db8::1]:53`, `FWM 7 IPv6`. */
export function formatServiceKey(k: ServiceKey): string {
  if ('fwmark' in k) return `FWM ${k.fwmark}${k.family === 6 ? ' IPv6' : ''}`;
  return `${k.protocol} ${hostPort(k.address, k.port)}`;
}

/** A dest's label: `198.51.100.1:80`, `[2001:db8::10]:80`. */
export function formatDestKey(d: DestKey): string {
  return hostPort(d.address, d.port);
}

/**
 * A string that is equal for equal service keys (addresses canonicalised),
 * for use as a Map key.
 */
export function serviceKeyId(k: ServiceKey): string {
  if ('fwmark' in k) return `fwm/${k.family}/${k.fwmark >>> 0}`;
  return `${k.protocol}/${k.family}/${canonicalAddress(k.address)}/${k.port}`;
}

/** A string that is equal for equal dest keys within one service, for use as a Map key. */
export function destKeyId(d: DestKey): string {
  return `${canonicalAddress(d.address)}/${d.port}`;
}

/** What a write op does, for error messages: `adding dest 198.51.100.1:80 to TCP 192.0.2.100:80`. */
export function opAction(op: IpvsOp): string {
  switch (op.op) {
    case 'addService':
      return `adding service ${formatServiceKey(op.service.key)}`;
    case 'editService':
      return `editing service ${formatServiceKey(op.service.key)}`;
    case 'delService':
      return `deleting service ${formatServiceKey(op.key)}`;
    case 'addDest':
      return `adding dest ${formatDestKey(op.dest)} to ${formatServiceKey(op.key)}`;
    case 'editDest':
      return `editing dest ${formatDestKey(op.dest)} of ${formatServiceKey(op.key)}`;
    case 'delDest':
      return `deleting dest ${formatDestKey(op.dest)} from ${formatServiceKey(op.key)}`;
  }
}
