/**
 * IPVS failures, each with a stable `code`.
 */
import { errnoName } from '../netlink/errors';

/**
 * The kernel (or the fake) refused an IPVS command. `code` is the errno name
 * (EEXIST, ESRCH, ENOENT, EINVAL, ...); the message says what was being done
 * to what: `adding dest 198.51.100.1:80 to TCP 192.0.2.100:80: EEXIST`.
 */
export class IpvsError extends Error {
  /** Errno name, e.g. "EEXIST". */
  readonly code: string;
  /** Positive errno. */
  readonly errno: number;
  /** The generic netlink command, e.g. "IPVS_CMD_NEW_DEST". */
  readonly command: string;
  /** What was being done, e.g. "adding dest 198.51.100.1:80 to TCP 192.0.2.100:80". */
  readonly action: string;
  /** The kernel's extended-ACK text, when it sent one. */
  readonly extack: string | undefined;

  constructor(errno: number, command: string, action: string, extack?: string) {
    const code = errnoName(errno);
    super(`${action}: ${code}${extack ? ` (${extack})` : ''}`);
    this.name = 'IpvsError';
    this.code = code;
    this.errno = Math.abs(errno);
    this.command = command;
    this.action = action;
    this.extack = extack;
  }
}

/** The kernel has no IPVS generic netlink family (ip_vs not built or not loaded). */
export class IpvsUnavailableError extends Error {
  readonly code = 'ERR_IPVS_UNAVAILABLE';
  constructor(detail: string) {
    super(`IPVS is not available in this kernel (load the ip_vs module): ${detail}`);
    this.name = 'IpvsUnavailableError';
  }
}

/** An IPVS message from the kernel lacked an attribute or held a value lvsd cannot represent. */
export class IpvsMalformedError extends Error {
  readonly code = 'ERR_IPVS_MALFORMED';
  constructor(detail: string) {
    super(`malformed IPVS message: ${detail}`);
    this.name = 'IpvsMalformedError';
  }
}

/** A value given to the IPVS client cannot be encoded (bad address, port out of range, ...). */
export class IpvsInvalidArgumentError extends Error {
  readonly code = 'ERR_IPVS_INVALID_ARG';
  constructor(detail: string) {
    super(`invalid IPVS argument: ${detail}`);
    this.name = 'IpvsInvalidArgumentError';
  }
}

/** The client was closed before or while a command ran. */
export class IpvsClosedError extends Error {
  readonly code = 'ERR_IPVS_CLOSED';
  constructor(action: string) {
    super(`${action}: the IPVS client is closed`);
    this.name = 'IpvsClosedError';
  }
}
