/**
 * The daemon's control socket: a unix stream socket, mode 0600, speaking the
 * newline-delimited JSON of ./protocol.ts, dispatching each request to a
 * handler the daemon supplies. A bad request gets an error answer; neither
 * the connection nor the daemon suffers from it.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Logger } from '../log';
import { nullLogger } from '../log';
import {
  LineSplitter,
  MAX_LINE_BYTES,
  ProtocolError,
  encodeResponse,
  errorResponse,
  parseRequest,
  type ControlResponse,
  type SplitItem,
} from './protocol';

/** Per-request context given to handlers. */
export interface ControlContext {
  /** A number identifying the connection, for logs. */
  readonly connection: number;
}

/**
 * Answers one command. The resolved value becomes `result`; a throw becomes
 * an error answer (see {@link ControlError} to choose its code).
 */
export type ControlHandler = (args: Readonly<Record<string, unknown>>, ctx: ControlContext) => unknown | Promise<unknown>;

/** The daemon's commands, by name. */
export type ControlHandlers = Readonly<Record<string, ControlHandler>>;

/**
 * What a handler throws to answer an error with its own stable code (e.g.
 * `CONFIG_INVALID`, `BAD_ARGUMENT`). Any other thrown value is answered as
 * `INTERNAL` with its message, unless it carries an upper-case string `code`.
 */
export class ControlError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

/** Another process already answers on the socket path. */
export class ControlSocketInUseError extends Error {
  /** Stable error code. */
  readonly code = 'CONTROL_SOCKET_IN_USE';
  constructor(readonly path: string) {
    super(`control socket ${path} is in use: is another lvsd running?`);
    this.name = 'ControlSocketInUseError';
  }
}

/** The socket path exists and is not a socket: lvsd will not delete it. */
export class ControlSocketPathError extends Error {
  /** Stable error code. */
  readonly code = 'CONTROL_SOCKET_NOT_SOCKET';
  constructor(readonly path: string) {
    super(`${path} exists and is not a socket: remove it or choose another control_socket`);
    this.name = 'ControlSocketPathError';
  }
}

/** Options of {@link ControlServer}. */
export interface ControlServerOptions {
  /** The socket path (config `control_socket`). */
  readonly path: string;
  readonly handlers: ControlHandlers;
  readonly logger?: Logger;
  /** Longest request line; default {@link MAX_LINE_BYTES}. */
  readonly maxLineBytes?: number;
  /** Close a connection idle this long; default 300 000 ms. */
  readonly idleTimeoutMs?: number;
  /** Simultaneous connections; default 32. */
  readonly maxConnections?: number;
}

const CODE_RE = /^[A-Z][A-Z0-9_]*$/;

/** Turns a handler's throw into an error answer. */
function errorOf(id: number, err: unknown): ControlResponse {
  if (err instanceof ControlError) return errorResponse(id, err.code, err.message);
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = e && typeof e.code === 'string' && CODE_RE.test(e.code) ? e.code : 'INTERNAL';
  const message = e && typeof e.message === 'string' ? e.message : String(err);
  return errorResponse(id, code, message);
}

/** Connects to `p` briefly: true when something accepts, false when stale. */
function answers(p: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s = net.connect(p);
    const t = setTimeout(() => {
      s.destroy();
      resolve(true); // a listener that accepts slowly is still a listener
    }, 1000);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(t);
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(false);
      else reject(err);
    });
  });
}

/**
 * Listens on a unix socket and dispatches requests to handlers. Requests of
 * one connection are answered in order; connections are independent.
 */
export class ControlServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private handlers: ControlHandlers;
  private readonly logger: Logger;
  private nextConn = 1;
  private listening = false;

  constructor(private readonly opts: ControlServerOptions) {
    this.handlers = opts.handlers;
    this.logger = opts.logger ?? nullLogger;
    // allowHalfOpen: a client may send its request and shut its side
    // (`socat`, `nc -U -N`); it still gets the answers.
    this.server = net.createServer({ allowHalfOpen: true }, (s) => this.onConnection(s));
    this.server.maxConnections = opts.maxConnections ?? 32;
    this.server.on('error', (err) => this.logger.error('control socket error', { error: err.message }));
  }

  /** The socket path. */
  get path(): string {
    return this.opts.path;
  }

  /** Open connections. */
  get connections(): number {
    return this.sockets.size;
  }

  /** Replaces the handler map (e.g. after a reload). */
  setHandlers(handlers: ControlHandlers): void {
    this.handlers = handlers;
  }

  /**
   * Creates the parent directory (0755) if missing, removes a stale socket
   * that nothing answers on, and listens with mode 0600. Rejects with
   * {@link ControlSocketInUseError} when another process answers there, and
   * {@link ControlSocketPathError} when the path is not a socket.
   */
  async listen(): Promise<void> {
    const p = this.opts.path;
    await fs.promises.mkdir(path.dirname(p), { recursive: true, mode: 0o755 });
    let st: fs.Stats | null = null;
    try {
      st = await fs.promises.lstat(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (st) {
      if (!st.isSocket()) throw new ControlSocketPathError(p);
      if (await answers(p)) throw new ControlSocketInUseError(p);
      this.logger.info('removing stale control socket', { path: p });
      await fs.promises.unlink(p).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(err.code === 'EADDRINUSE' ? new ControlSocketInUseError(p) : err);
      };
      this.server.once('error', onError);
      // bind(2) happens synchronously inside listen() (seen in Node 20), so
      // a umask of 0177 around it creates the socket 0600 from the start:
      // there is no moment where it is wider. The chmod below is the belt to
      // that brace. umask is process-wide, hence restored at once.
      const old = process.umask(0o177);
      try {
        this.server.listen(p, () => {
          this.server.off('error', onError);
          resolve();
        });
      } finally {
        process.umask(old);
      }
    });
    await fs.promises.chmod(p, 0o600);
    this.listening = true;
    this.logger.info('control socket listening', { path: p });
  }

  /** Stops listening, closes every connection and removes the socket file. */
  async close(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    for (const s of this.sockets) s.destroy();
    // libuv unlinks the socket path when the listening handle closes.
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(sock: net.Socket): void {
    const conn = this.nextConn++;
    this.sockets.add(sock);
    const splitter = new LineSplitter(this.opts.maxLineBytes ?? MAX_LINE_BYTES);
    let chain: Promise<void> = Promise.resolve();
    let ended = false;
    sock.setTimeout(this.opts.idleTimeoutMs ?? 300_000, () => sock.destroy());
    sock.on('error', (err) => this.logger.debug('control connection error', { conn, error: err.message }));
    sock.on('close', () => this.sockets.delete(sock));
    const send = (res: ControlResponse): void => {
      if (sock.destroyed || sock.writableEnded) return;
      let line: string;
      try {
        line = encodeResponse(res);
      } catch (e) {
        // A result JSON cannot carry (BigInt, a cycle) is the daemon's bug,
        // answered as such rather than left without a reply.
        line = encodeResponse(errorResponse(res.id, 'INTERNAL', `answer cannot be encoded: ${(e as Error).message}`));
      }
      // A client that sends without reading: stop reading until it drains.
      if (!sock.write(line)) {
        sock.pause();
        sock.once('drain', () => sock.resume());
      }
    };
    sock.on('data', (chunk: Buffer) => {
      for (const item of splitter.push(chunk)) {
        chain = chain.then(() => this.answer(item, conn)).then(send);
      }
    });
    sock.on('end', () => {
      ended = true;
      void chain.then(() => {
        if (ended && !sock.destroyed) sock.end();
      });
    });
  }

  private async answer(item: SplitItem, conn: number): Promise<ControlResponse> {
    if ('tooLong' in item) {
      const max = this.opts.maxLineBytes ?? MAX_LINE_BYTES;
      this.logger.warn('control request too long', { conn, bytes: item.tooLong, max });
      return errorResponse(null, 'LINE_TOO_LONG', `request longer than ${max} bytes`);
    }
    if (item.line.trim() === '') return errorResponse(null, 'BAD_REQUEST', 'empty request line');
    let req;
    try {
      req = parseRequest(item.line);
    } catch (e) {
      const pe = e as ProtocolError;
      this.logger.debug('bad control request', { conn, code: pe.code, error: pe.message });
      return errorResponse(pe.id, pe.code, pe.message);
    }
    const handler = Object.prototype.hasOwnProperty.call(this.handlers, req.cmd) ? this.handlers[req.cmd] : undefined;
    if (typeof handler !== 'function') {
      const known = Object.keys(this.handlers).sort().join(', ');
      return errorResponse(req.id, 'UNKNOWN_COMMAND', `unknown command "${req.cmd}" (known: ${known})`);
    }
    this.logger.debug('control request', { conn, id: req.id, cmd: req.cmd });
    try {
      const result = await handler(req.args, { connection: conn });
      // JSON has no undefined: a handler with nothing to say answers null.
      return { id: req.id, ok: true, result: result === undefined ? null : result };
    } catch (e) {
      const res = errorOf(req.id, e);
      this.logger.warn('control command failed', { conn, cmd: req.cmd, error: e instanceof Error ? e.message : String(e) });
      return res;
    }
  }
}
