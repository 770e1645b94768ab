/**
 * Why a VRRP packet was not acted on, and the codec's programming-error class.
 *
 * A bad packet is data, not an exception (STYLE.md §10): the decoders return a
 * `DropReason` and the state machine emits `{ type: 'drop', reason }`; the
 * driver counts them per reason. Only the encoders throw, and only when the
 * caller hands them a value that cannot go on the wire.
 */

/**
 * Every reason code a VRRP packet can be dropped (or, for `vip-mismatch`,
 * counted) for, in one list so counters and logs share the names.
 */
export const DROP_REASONS = [
  /** Shorter than the fixed 8-byte VRRP header (or 20-byte IPv4 header). */
  'short',
  /** Shorter than its address count (and v2 auth data) says it must be. */
  'length',
  /** VRRP version not 2 or 3, or not the version this instance runs. */
  'version',
  /** VRRP type is not 1 (ADVERTISEMENT). */
  'type',
  /** VRRP checksum wrong (RFC 1071; with or without the pseudo-header). */
  'checksum',
  /** IPv4 header malformed: version, IHL, total length, header checksum, fragment. */
  'ip-header',
  /** IP protocol / next header is not 112. */
  'protocol',
  /** TTL / hop limit not 255 on a multicast advert, or outside a unicast peer's min_ttl..max_ttl (checked by the receive path). */
  'ttl',
  /** v2 authentication type or password differs from ours. */
  'auth',
  /** v2 advert interval differs from ours (RFC 3768 §7.1), or a v3 Max Adver Int of 0. */
  'interval',
  /** VRID differs from this instance's. */
  'vrid',
  /** Unicast mode: the sender is not one of our unicast peers. */
  'peer',
  /** The advertised address list differs from ours: counted and logged, not dropped. */
  'vip-mismatch',
  /** Our own advert looped back to us (source is our primary address). */
  'own',
] as const;

/** One of {@link DROP_REASONS}. */
export type DropReason = (typeof DROP_REASONS)[number];

/** True when `x` is one of {@link DROP_REASONS}. */
export function isDropReason(x: unknown): x is DropReason {
  return typeof x === 'string' && (DROP_REASONS as readonly string[]).includes(x);
}

/** Stable codes of {@link VrrpEncodeError}. */
export const VRRP_ENCODE_ERROR_CODES = {
  /** A field is out of its wire range (VRID, priority, interval, counts, lengths). */
  field: 'ERR_VRRP_ENCODE_FIELD',
  /** An address has the wrong length for the family. */
  address: 'ERR_VRRP_ENCODE_ADDRESS',
  /** The checksum needs source and destination addresses that were not given. */
  context: 'ERR_VRRP_ENCODE_CONTEXT',
} as const;

/** One of {@link VRRP_ENCODE_ERROR_CODES}' values. */
export type VrrpEncodeErrorCode = (typeof VRRP_ENCODE_ERROR_CODES)[keyof typeof VRRP_ENCODE_ERROR_CODES];

/**
 * Thrown by `encodeVrrp` / `encodeIpv4Header` when the value to encode cannot
 * be represented on the wire. It is a programming or configuration error in
 * the caller, never caused by received bytes.
 */
export class VrrpEncodeError extends Error {
  /** Stable code, one of {@link VRRP_ENCODE_ERROR_CODES}. */
  readonly code: VrrpEncodeErrorCode;
  constructor(code: VrrpEncodeErrorCode, message: string) {
    super(message);
    this.name = 'VrrpEncodeError';
    this.code = code;
  }
}

/** Stable code of {@link VrrpConfigError}. */
export const VRRP_CONFIG_ERROR_CODE = 'ERR_VRRP_CONFIG';

/**
 * Thrown by the state machine's `init` when an instance's configuration
 * cannot run (VRID, priority, interval, addresses out of range). The config
 * loader should have refused it first; the message says which field and why.
 */
export class VrrpConfigError extends Error {
  /** Always {@link VRRP_CONFIG_ERROR_CODE}. */
  readonly code = VRRP_CONFIG_ERROR_CODE;
  constructor(instance: string, message: string) {
    super(`vrrp_instance ${instance}: ${message}`);
    this.name = 'VrrpConfigError';
  }
}
