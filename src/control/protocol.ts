/**
 * The control socket's wire protocol: newline-delimited JSON over a unix
 * stream socket. One request per line, one response per line:
 *
 *   → { "id": 1, "cmd": "status", "args": {} }
 *   ← { "id": 1, "ok": true, "result": { ... } }
 *   ← { "id": 1, "ok": false, "error": { "code": "UNKNOWN_COMMAND", "message": "..." } }
 *
 * Pure functions and a byte-driven line splitter: nothing here sees a socket.
 * A line that cannot be parsed still gets an answer, with `id` null when the
 * id could not be read.
 */

/** Longest request or response line accepted, in bytes (newline excluded). */
export const MAX_LINE_BYTES = 64 * 1024;

/** A request as sent by a client. */
export interface ControlRequest {
  readonly id: number;
  readonly cmd: string;
  readonly args: Readonly<Record<string, unknown>>;
}

/** The error part of a failed response. */
export interface ControlErrorBody {
  readonly code: string;
  readonly message: string;
}

/** A response as sent by the server. */
export type ControlResponse =
  | { readonly id: number | null; readonly ok: true; readonly result: unknown }
  | { readonly id: number | null; readonly ok: false; readonly error: ControlErrorBody };

/** Protocol-level error codes (handlers may answer their own codes too). */
export const ProtocolErrorCode = {
  /** The line is not JSON. */
  BAD_JSON: 'BAD_JSON',
  /** JSON, but not a request/response of the right shape. */
  BAD_REQUEST: 'BAD_REQUEST',
  /** Longer than {@link MAX_LINE_BYTES}. */
  LINE_TOO_LONG: 'LINE_TOO_LONG',
  /** No handler for `cmd`. */
  UNKNOWN_COMMAND: 'UNKNOWN_COMMAND',
  /** The handler threw without a code of its own. */
  INTERNAL: 'INTERNAL',
} as const;
/** One of {@link ProtocolErrorCode}. */
export type ProtocolErrorCodeName = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

/** A line that is not a valid request or response. */
export class ProtocolError extends Error {
  constructor(
    /** A {@link ProtocolErrorCode}. */
    readonly code: ProtocolErrorCodeName,
    message: string,
    /** The request id, when it could be read. */
    readonly id: number | null = null,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** True for a JSON object: not null, not an array. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** Serialises a request as one line, newline included. */
export function encodeRequest(req: ControlRequest): string {
  return JSON.stringify({ id: req.id, cmd: req.cmd, args: req.args }) + '\n';
}

/** Serialises a response as one line, newline included. */
export function encodeResponse(res: ControlResponse): string {
  return JSON.stringify(res) + '\n';
}

/** An error response for `id`. */
export function errorResponse(id: number | null, code: string, message: string): ControlResponse {
  return { id, ok: false, error: { code, message } };
}

/**
 * Parses one request line (without its newline). Throws {@link ProtocolError}
 * (BAD_JSON or BAD_REQUEST) for anything else; `args` defaults to `{}`.
 */
export function parseRequest(line: string): ControlRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new ProtocolError('BAD_JSON', `request is not JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(v)) throw new ProtocolError('BAD_REQUEST', 'request must be a JSON object');
  const id = isId(v.id) ? v.id : null;
  if (id === null) throw new ProtocolError('BAD_REQUEST', 'request needs an integer "id"');
  if (typeof v.cmd !== 'string' || v.cmd === '') throw new ProtocolError('BAD_REQUEST', 'request needs a string "cmd"', id);
  if (v.args !== undefined && !isPlainObject(v.args)) throw new ProtocolError('BAD_REQUEST', '"args" must be an object', id);
  return { id, cmd: v.cmd, args: (v.args as Record<string, unknown> | undefined) ?? {} };
}

/**
 * Parses one response line (without its newline). Throws
 * {@link ProtocolError} (BAD_JSON or BAD_REQUEST) when the line is not a
 * well-formed response.
 */
export function parseResponse(line: string): ControlResponse {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new ProtocolError('BAD_JSON', `answer is not JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(v)) throw new ProtocolError('BAD_REQUEST', 'answer is not a JSON object');
  const id = isId(v.id) ? v.id : v.id === null ? null : undefined;
  if (id === undefined) throw new ProtocolError('BAD_REQUEST', 'answer has no integer "id"');
  if (v.ok === true) {
    if (!('result' in v)) throw new ProtocolError('BAD_REQUEST', 'answer has ok=true but no "result"', id);
    return { id, ok: true, result: v.result };
  }
  if (v.ok === false) {
    const err = v.error;
    if (!isPlainObject(err) || typeof err.code !== 'string' || typeof err.message !== 'string') {
      throw new ProtocolError('BAD_REQUEST', 'answer has ok=false but no {code, message} error', id);
    }
    return { id, ok: false, error: { code: err.code, message: err.message } };
  }
  throw new ProtocolError('BAD_REQUEST', 'answer has no boolean "ok"', id);
}

/** What {@link LineSplitter.push} yields per line. */
export type SplitItem = { readonly line: string } | { readonly tooLong: number };

/**
 * Splits a byte stream into lines of at most `maxBytes` bytes. An overlong
 * line is reported once, as soon as it passes the limit, as
 * `{ tooLong: bytesSeen }`; the rest of it is discarded up to its newline,
 * so the stream resynchronises on the next line and memory stays bounded.
 * `\r\n` endings are accepted.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;

  constructor(private readonly maxBytes: number = MAX_LINE_BYTES) {}

  /** Feeds bytes; returns the complete lines (and overflows) they end. */
  push(chunk: Uint8Array): SplitItem[] {
    const out: SplitItem[] = [];
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (buf.length > 0) {
      const nl = buf.indexOf(0x0a);
      const piece = nl === -1 ? buf : buf.subarray(0, nl);
      if (this.discarding) {
        // Already reported: skip to the newline.
      } else if (this.size + piece.length > this.maxBytes) {
        out.push({ tooLong: this.size + piece.length });
        this.discarding = true;
        this.parts = [];
        this.size = 0;
      } else {
        this.parts.push(piece);
        this.size += piece.length;
      }
      if (nl === -1) break;
      if (this.discarding) {
        this.discarding = false;
      } else {
        let line = Buffer.concat(this.parts).toString('utf8');
        if (line.endsWith('\r')) line = line.slice(0, -1);
        out.push({ line });
        this.parts = [];
        this.size = 0;
      }
      buf = buf.subarray(nl + 1);
    }
    return out;
  }

  /** Bytes buffered for a line not yet ended. */
  get buffered(): number {
    return this.size;
  }
}
