/**
 * A client of BIRD's control socket (a Unix stream socket; the line protocol
 * of reply.ts): one connection, one command at a time, each with a timeout.
 * lvsd only reads (`show ...`); it never changes BIRD.
 */
import * as net from 'node:net';
import { BirdReplyDecoder, isErrorReply, type BirdReply } from './reply';

/** Failure codes of {@link BirdError}. */
export const BirdErrorCode = {
  /** The socket is missing, refused, or the connection broke. */
  UNREACHABLE: 'BIRD_UNREACHABLE',
  /** No complete reply in time. */
  TIMEOUT: 'BIRD_TIMEOUT',
  /** BIRD answered an error (8xxx, 9xxx), or access was restricted. */
  REFUSED: 'BIRD_REFUSED',
  /** What came back is not BIRD's protocol. */
  PROTOCOL: 'BIRD_PROTOCOL',
} as const;

/** Why talking to BIRD failed; `code` is one of {@link BirdErrorCode}. */
export class BirdError extends Error {
  constructor(
    readonly code: (typeof BirdErrorCode)[keyof typeof BirdErrorCode],
    message: string,
  ) {
    super(message);
    this.name = 'BirdError';
  }
}

/** Something that answers BIRD commands: the socket client, or a test's stand-in. */
export interface BirdTransport {
  command(cmd: string): Promise<BirdReply>;
  close(): void;
}

/** The socket client; connects on first use and again after a failure. */
export class BirdClient implements BirdTransport {
  private sock: net.Socket | undefined;
  private decoder = new BirdReplyDecoder();
  private waiting: { resolve: (r: BirdReply) => void; reject: (e: Error) => void } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** BIRD's greeting on the current connection (`BIRD 2.0.12 ready.`). */
  greeting = '';

  constructor(
    readonly path: string,
    private readonly timeoutMs = 2000,
  ) {}

  /** Sends one command and resolves its reply; rejects with {@link BirdError}. Commands queue. */
  command(cmd: string): Promise<BirdReply> {
    if (/[\r\n]/.test(cmd)) return Promise.reject(new BirdError(BirdErrorCode.PROTOCOL, 'a BIRD command is one line'));
    const run = async (): Promise<BirdReply> => {
      await this.connect();
      const r = await this.exchange(`${cmd}\n`);
      if (isErrorReply(r)) throw new BirdError(BirdErrorCode.REFUSED, `BIRD refused "${cmd}": ${r.code} ${r.text}`);
      return r;
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async connect(): Promise<void> {
    if (this.sock && !this.sock.destroyed) return;
    this.decoder = new BirdReplyDecoder();
    const sock = net.createConnection(this.path);
    this.sock = sock;
    sock.on('data', (d) => this.onData(d));
    sock.on('close', () => this.fail(new BirdError(BirdErrorCode.UNREACHABLE, `BIRD closed the control socket ${this.path}`)));
    sock.on('error', (e: NodeJS.ErrnoException) => this.fail(new BirdError(BirdErrorCode.UNREACHABLE, `cannot talk to BIRD at ${this.path}: ${e.code ?? e.message}`)));
    const hello = await this.exchange(undefined);
    // 0001 is the greeting; 0016 "Access restricted" still answers `show` commands.
    if (hello.code !== 1 && hello.code !== 16) {
      this.drop();
      throw new BirdError(BirdErrorCode.REFUSED, `BIRD greeted with ${hello.code} ${hello.text}`);
    }
    this.greeting = hello.text;
  }

  /** Writes `text` (unless undefined) and waits for the next complete reply. */
  private exchange(text: string | undefined): Promise<BirdReply> {
    return new Promise<BirdReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        this.drop();
        reject(new BirdError(BirdErrorCode.TIMEOUT, `BIRD did not answer within ${this.timeoutMs} ms on ${this.path}`));
      }, this.timeoutMs);
      this.waiting = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      if (text !== undefined) this.sock?.write(text);
    });
  }

  private onData(d: Buffer): void {
    let replies: BirdReply[];
    try {
      replies = this.decoder.push(d);
    } catch (e) {
      this.fail(new BirdError(BirdErrorCode.PROTOCOL, `${this.path}: ${(e as Error).message}`));
      return;
    }
    for (const r of replies) {
      const w = this.waiting;
      this.waiting = undefined;
      w?.resolve(r);
    }
  }

  private fail(e: BirdError): void {
    const w = this.waiting;
    this.waiting = undefined;
    this.drop();
    w?.reject(e);
  }

  private drop(): void {
    const s = this.sock;
    this.sock = undefined;
    s?.destroy();
  }

  close(): void {
    this.fail(new BirdError(BirdErrorCode.UNREACHABLE, 'closed'));
  }
}
