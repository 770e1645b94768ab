/**
 * IP address and endpoint text parsing for the configuration: `192.0.2.1`,
 * `192.0.2.1/24`, `2001:db8::1/64`, `192.0.2.1:80`, `[2001:db8::1]:80`.
 *
 * Pure: strings in, typed values (with network-order bytes) out. Never throws;
 * a failure is a message saying what was expected.
 */

import { formatIPv6, parseIPv4Bytes, parseIPv6Bytes } from '../lib/ip';

export { formatIPv6, parseIPv4Bytes, parseIPv6Bytes };

/** An address family, as IP version numbers. */
export type Family = 4 | 6;

/** A parsed IP address, with the prefix length given (or the full length when none was). */
export interface IpAddress {
  readonly family: Family;
  /** Canonical text: dotted quad, or RFC 5952 compressed lower-case IPv6. */
  readonly address: string;
  /** Network-order bytes: 4 for IPv4, 16 for IPv6. */
  readonly bytes: Uint8Array;
  /** Prefix length: 0–32 / 0–128; 32 / 128 when the text had none. */
  readonly prefix: number;
}

/** An address and a transport port. */
export interface Endpoint extends IpAddress {
  /** 0–65535; 0 only where the caller allowed a missing port. */
  readonly port: number;
}

/** Either a value or the reason it could not be parsed. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(error: string): Parsed<T> => ({ ok: false, error });

function fromBytes(bytes: Uint8Array, prefix?: number, text?: string): IpAddress {
  const family: Family = bytes.length === 4 ? 4 : 6;
  const address = family === 4 ? (text ?? Array.from(bytes).join('.')) : formatIPv6(bytes);
  return { family, address, bytes, prefix: prefix ?? (family === 4 ? 32 : 128) };
}

/** Parses a bare IPv4 or IPv6 address (no prefix, no port). */
export function parseIp(text: string): Parsed<IpAddress> {
  const b4 = parseIPv4Bytes(text);
  // parseIPv4Bytes takes only the canonical dotted quad (no leading zeros): the text is the address.
  if (b4) return ok(fromBytes(b4, undefined, text));
  const b6 = parseIPv6Bytes(text);
  if (b6) return ok(fromBytes(b6));
  return fail(`"${text}" is not an IPv4 or IPv6 address`);
}

/** Parses `ADDRESS` or `ADDRESS/PREFIX`. */
export function parseIpPrefix(text: string): Parsed<IpAddress> {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const a = parseIp(addrText);
  if (!a.ok) return a;
  if (slash < 0) return a;
  const max = a.value.family === 4 ? 32 : 128;
  const pText = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(pText) || Number(pText) > max) {
    return fail(`prefix length "${pText}" must be a whole number 0–${max}`);
  }
  return ok(fromBytes(a.value.bytes, Number(pText)));
}

/**
 * Parses `IPv4:PORT` or `[IPv6]:PORT`. With `portOptional`, a bare address
 * (`192.0.2.1`, `2001:db8::1` or `[2001:db8::1]`) gives port 0.
 */
export function parseEndpoint(text: string, portOptional = false): Parsed<Endpoint> {
  let addrText: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return fail(`"${text}" has "[" without "]"`);
    addrText = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return fail(`"${text}": expected ":PORT" after "]"`);
      portText = rest.slice(1);
    }
    if (!parseIPv6Bytes(addrText)) return fail(`"${addrText}" is not an IPv6 address`);
  } else {
    const first = text.indexOf(':');
    const colons = first < 0 ? 0 : text.indexOf(':', first + 1) < 0 ? 1 : 2; // none, one, or more
    if (colons === 1) {
      const i = text.indexOf(':');
      addrText = text.slice(0, i);
      portText = text.slice(i + 1);
    } else if (colons === 0) {
      addrText = text;
    } else {
      if (!portOptional) return fail(`"${text}": write an IPv6 address with a port as [ADDRESS]:PORT`);
      addrText = text;
    }
  }
  const a = parseIp(addrText);
  if (!a.ok) return a;
  if (portText === undefined) {
    if (!portOptional) return fail(`"${text}" needs a port: ADDRESS:PORT (IPv6: [ADDRESS]:PORT)`);
    return ok({ ...a.value, port: 0 });
  }
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535 || Number(portText) === 0) {
    return fail(`port "${portText}" must be a whole number 1–65535`);
  }
  return ok({ ...a.value, port: Number(portText) });
}

/** Formats an endpoint as keepalived writes it in notify lines: `[ip]:port`. */
export function formatEndpoint(e: Endpoint): string {
  return e.family === 6 ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}
