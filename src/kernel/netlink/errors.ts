/**
 * Netlink failures, one class per kind, each with a stable `code`.
 */
import * as util from 'node:util';

/** Errno numbers lvsd tests for by name (Linux, all architectures it runs on). */
export const ERRNO = {
  ENOENT: 2,
  EINTR: 4,
  ENOBUFS: 105,
  ENODEV: 19,
  EEXIST: 17,
  EINVAL: 22,
  EPERM: 1,
  EADDRNOTAVAIL: 99,
  ETIMEDOUT: 110,
  ESRCH: 3,
} as const;

/** The errno name for a positive errno (`ENODEV`), or `E<n>` when unknown. */
export function errnoName(errno: number): string {
  const e = util.getSystemErrorMap().get(-Math.abs(errno));
  return e ? e[0] : `E${Math.abs(errno)}`;
}

/** strerror-like text for a positive errno ("no such device"). */
export function errnoText(errno: number): string {
  const e = util.getSystemErrorMap().get(-Math.abs(errno));
  return e ? e[1] : `errno ${Math.abs(errno)}`;
}

/**
 * The kernel refused a request: NLMSG_ERROR with a negative errno, or an
 * NLMSG_DONE carrying one. `code` is the errno name (ENODEV, EEXIST, ...).
 */
export class NetlinkError extends Error {
  /** The errno name, e.g. "ENODEV". */
  readonly code: string;
  /** The positive errno. */
  readonly errno: number;
  /** The request's message type name, e.g. "RTM_NEWADDR" (or its number). */
  readonly request: string;
  /** What the request was about, e.g. `192.0.2.1/24 on "eth9"`. */
  readonly object: string;
  /** The kernel's extended-ACK text (NLMSGERR_ATTR_MSG), when it sent one. */
  readonly extack: string | undefined;

  constructor(errno: number, request: string, object: string, extack?: string) {
    const code = errnoName(errno);
    const why = extack ? `: ${extack}` : '';
    super(`${request} ${object}: ${errnoText(errno)} (${code})${why}`);
    this.name = 'NetlinkError';
    this.code = code;
    this.errno = Math.abs(errno);
    this.request = request;
    this.object = object;
    this.extack = extack;
  }
}

/** A datagram from the kernel did not parse (lengths or layout wrong). */
export class NetlinkMalformedError extends Error {
  readonly code = 'ERR_NETLINK_MALFORMED';
  constructor(detail: string) {
    super(`malformed netlink message: ${detail}`);
    this.name = 'NetlinkMalformedError';
  }
}

/**
 * The socket's receive buffer overflowed (recvmsg returned ENOBUFS): some
 * notifications, or replies to in-flight requests, were lost. Subscribers
 * must re-read the state they track; a request that fails with it may or may
 * not have been carried out.
 */
export class NetlinkOverrunError extends Error {
  readonly code = 'ENOBUFS';
  constructor(what: string) {
    super(`netlink receive buffer overrun: ${what}; messages were lost, state must be re-read`);
    this.name = 'NetlinkOverrunError';
  }
}

/** The socket was closed (by close(), or after a fatal receive error) while a request waited. */
export class NetlinkClosedError extends Error {
  readonly code = 'ERR_NETLINK_CLOSED';
  constructor(request: string) {
    super(`netlink socket closed before ${request} was answered`);
    this.name = 'NetlinkClosedError';
  }
}

/** No answer came within the request timeout. */
export class NetlinkTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(request: string, ms: number) {
    super(`${request}: no netlink answer within ${ms} ms`);
    this.name = 'NetlinkTimeoutError';
  }
}

/** A dump kept being interrupted by concurrent changes (NLM_F_DUMP_INTR) after every retry. */
export class NetlinkDumpInterruptedError extends Error {
  readonly code = 'ERR_NETLINK_DUMP_INTR';
  constructor(request: string, tries: number) {
    super(`${request} dump was inconsistent (NLM_F_DUMP_INTR) ${tries} times in a row`);
    this.name = 'NetlinkDumpInterruptedError';
  }
}
