/**
 * The client side of the control socket: one request, one answer, then the
 * connection is closed. Every failure is a {@link ControlClientError}
 * subclass with a stable `code`, worded for the operator.
 */
import * as net from 'node:net';
import { LineSplitter, ProtocolError, encodeRequest, parseResponse } from './protocol';

/** Longest answer line accepted (a big `status`), in bytes. */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/** Default time to wait for an answer. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** The base class of every client failure. */
export abstract class ControlClientError extends Error {
  /** Stable error code. */
  abstract readonly code: string;
}

/** No daemon listens at the path (ENOENT, ECONNREFUSED). */
export class DaemonNotRunningError extends ControlClientError {
  readonly code = 'DAEMON_NOT_RUNNING';
  constructor(
    readonly socketPath: string,
    /** The errno name seen. */
    readonly errno: string,
  ) {
    super(
      errno === 'ENOENT'
        ? `is lvsd running? no control socket at ${socketPath}`
        : `is lvsd running? no control socket at ${socketPath} (nothing answers: ${errno})`,
    );
    this.name = 'DaemonNotRunningError';
  }
}

/** The socket exists but this user may not use it (EACCES, EPERM). */
export class ControlPermissionError extends ControlClientError {
  readonly code = 'CONTROL_PERMISSION';
  constructor(readonly socketPath: string) {
    super(`permission denied on control socket ${socketPath}: run lvsctl as root`);
    this.name = 'ControlPermissionError';
  }
}

/** Any other failure to connect or talk. */
export class ControlConnectionError extends ControlClientError {
  readonly code = 'CONTROL_CONNECTION';
  constructor(
    readonly socketPath: string,
    cause: Error,
  ) {
    super(`control socket ${socketPath}: ${cause.message}`);
    this.name = 'ControlConnectionError';
  }
}

/** No answer within the timeout. */
export class ControlTimeoutError extends ControlClientError {
  readonly code = 'CONTROL_TIMEOUT';
  constructor(
    readonly socketPath: string,
    readonly timeoutMs: number,
  ) {
    super(`no answer from lvsd on ${socketPath} within ${timeoutMs} ms`);
    this.name = 'ControlTimeoutError';
  }
}

/** The answer was not a well-formed response (not JSON, wrong shape, no answer). */
export class ControlBadAnswerError extends ControlClientError {
  readonly code = 'CONTROL_BAD_ANSWER';
  constructor(
    readonly socketPath: string,
    detail: string,
  ) {
    super(`bad answer from the control socket ${socketPath}: ${detail}`);
    this.name = 'ControlBadAnswerError';
  }
}

/** The daemon answered with an error (`ok: false`). */
export class ControlRemoteError extends ControlClientError {
  readonly code = 'CONTROL_REMOTE';
  constructor(
    /** The daemon's own code, e.g. `UNKNOWN_COMMAND`, `CONFIG_INVALID`. */
    readonly remoteCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'ControlRemoteError';
  }
}

/** The caller gave up (its AbortSignal fired): `lvsctl events --follow` interrupted. */
export class ControlAbortedError extends ControlClientError {
  readonly code = 'CONTROL_ABORTED';
  constructor() {
    super('interrupted');
    this.name = 'ControlAbortedError';
  }
}

/**
 * Sends `cmd` with `args` to the daemon at `socketPath` and resolves with its
 * `result`. Rejects with a {@link ControlClientError} subclass only; when
 * `signal` fires, at once with {@link ControlAbortedError}, the connection closed.
 */
export function request(
  socketPath: string,
  cmd: string,
  args: Readonly<Record<string, unknown>> = {},
  timeoutMs: number = DEFAULT_TIMEOUT_MS,
  signal?: AbortSignal,
): Promise<unknown> {
  const id = 1;
  if (signal?.aborted) return Promise.reject(new ControlAbortedError());
  return new Promise<unknown>((resolve, reject) => {
    let settled = false;
    const sock = net.connect(socketPath);
    const splitter = new LineSplitter(MAX_ANSWER_BYTES);
    const settle = (err: ControlClientError | null, value?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => settle(new ControlTimeoutError(socketPath, timeoutMs)), timeoutMs);
    const onAbort = (): void => settle(new ControlAbortedError());
    signal?.addEventListener('abort', onAbort);
    sock.once('connect', () => sock.write(encodeRequest({ id, cmd, args })));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ENOTSOCK') settle(new DaemonNotRunningError(socketPath, code));
      else if (code === 'EACCES' || code === 'EPERM') settle(new ControlPermissionError(socketPath));
      else settle(new ControlConnectionError(socketPath, err));
    });
    sock.on('data', (chunk: Buffer) => {
      for (const item of splitter.push(chunk)) {
        if ('tooLong' in item) return settle(new ControlBadAnswerError(socketPath, `answer longer than ${MAX_ANSWER_BYTES} bytes`));
        let res;
        try {
          res = parseResponse(item.line);
        } catch (e) {
          const snippet = item.line.length > 80 ? item.line.slice(0, 80) + '...' : item.line;
          return settle(new ControlBadAnswerError(socketPath, `${(e as ProtocolError).message} (got ${JSON.stringify(snippet)})`));
        }
        if (!res.ok) return settle(new ControlRemoteError(res.error.code, res.error.message));
        if (res.id !== id) return settle(new ControlBadAnswerError(socketPath, `answer to request ${res.id}, expected ${id}`));
        return settle(null, res.result);
      }
    });
    sock.on('end', () => settle(new ControlBadAnswerError(socketPath, 'the daemon closed the connection without answering')));
    sock.on('close', () => settle(new ControlBadAnswerError(socketPath, 'the connection closed without an answer')));
  });
}
