/**
 * Address text ↔ bytes for IPVS, and the canonical keys and labels of
 * services and dests (used in error messages, maps and logs).
 */
import { formatIp, parseIPv4Bytes, parseIPv6Bytes } from '../../lib/ip';
import { IpvsInvalidArgumentError } from './errors';
import type { DestKey, Family, IpvsOp, ServiceKey } from './types';

/** Parses dotted-quad IPv4 text; undefined when it is not one. */
export const parseIPv4 = parseIPv4Bytes;
/** Parses IPv6 text (with `::` and an optional trailing dotted quad); undefined when it is not one. */
export const parseIPv6 = parseIPv6Bytes;
/** Writes 4 or 16 address bytes as text; IPv6 in RFC 5952 form. */
export const formatAddress = formatIp;

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

// Keys are made for every dest of every pass; a table uses few distinct address texts.
const canonical = new Map<string, string>();
const CANONICAL_CACHE_MAX = 65_536;

/** The canonical text of an address (RFC 5952 for IPv6); throws IpvsInvalidArgumentError when it is none. */
export function canonicalAddress(text: string): string {
  const known = canonical.get(text);
  if (known !== undefined) return known;
  const fam = addressFamily(text);
  if (!fam) throw new IpvsInvalidArgumentError(`"${text}" is not an IP address`);
  const c = formatAddress(addressBytes(fam, text));
  if (canonical.size >= CANONICAL_CACHE_MAX) canonical.clear();
  canonical.set(text, c);
  return c;
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
