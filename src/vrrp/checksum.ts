/**
 * The Internet checksum (RFC 1071) and the pseudo-headers VRRP uses
 * (RFC 5798 §5.2.8: IPv4 per RFC 768-style layout, IPv6 per RFC 8200 §8.1).
 */

/**
 * Adds `bytes` to a running one's-complement sum as big-endian 16-bit words
 * (RFC 1071 §4.1); an odd last byte is padded with zero. Returns the unfolded
 * sum, to be passed on or finished with {@link finishChecksum}.
 */
export function sumWords(bytes: Uint8Array, sum = 0): number {
  const n = bytes.length;
  let i = 0;
  for (; i + 1 < n; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < n) sum += bytes[i]! << 8;
  // Fold now and then so the number stays an exact integer for any length.
  return sum > 0x7fffffff ? (sum & 0xffff) + Math.floor(sum / 0x10000) : sum;
}

/** Folds the carries of a running sum and returns its 16-bit one's complement. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** RFC 1071 checksum of `bytes` (checksum field included as it stands). */
export function internetChecksum(bytes: Uint8Array): number {
  return finishChecksum(sumWords(bytes));
}

/**
 * Sum of the pseudo-header for upper-layer `protocol` carried in `length`
 * bytes between `src` and `dst` (4-byte addresses: the IPv4 form
 * src, dst, zero, protocol, 16-bit length; 16-byte: the IPv6 form
 * src, dst, 32-bit length, three zero bytes, next header).
 */
export function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  let sum = sumWords(src, sumWords(dst));
  if (src.length === 16) sum += Math.floor(length / 0x10000) + (length & 0xffff);
  else sum += length & 0xffff;
  return sum + protocol;
}
