/**
 * keepalived's `notify_fifo`: one line per event written to a named pipe
 * that an operator's reader consumes in order.
 *
 * Line formats (keepalived vrrp_notify.c / check ipwrapper.c):
 *   INSTANCE "VI_1" MASTER 100
 *   GROUP "G1" BACKUP 0                      (groups always report priority 0)
 *   RS [198.51.100.1]:tcp:80 [192.0.2.100]:tcp:80 UP
 *   VS [192.0.2.100]:tcp:80 DOWN
 *
 * Writing never blocks the event loop: the pipe is opened O_NONBLOCK; with no
 * reader (ENXIO), a full pipe (EAGAIN) or a vanished reader (EPIPE) the line
 * is dropped and counted. Lines are far shorter than PIPE_BUF, so each write
 * is atomic: a reader never sees half a line.
 */
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { Logger } from '../log';
import { nullLogger } from '../log';

/** The states and events a VRRP line can carry. */
export type FifoVrrpState =
  | 'MASTER'
  | 'BACKUP'
  | 'FAULT'
  | 'STOP'
  | 'MASTER_RX_LOWER_PRI'
  | 'MASTER_PRIORITY'
  | 'BACKUP_PRIORITY';

/** One line's content. */
export type FifoEvent =
  | { readonly type: 'INSTANCE'; readonly name: string; readonly state: FifoVrrpState; readonly priority: number }
  | { readonly type: 'GROUP'; readonly name: string; readonly state: FifoVrrpState }
  | { readonly type: 'RS'; readonly realServer: string; readonly virtualServer: string; readonly state: 'UP' | 'DOWN' }
  | { readonly type: 'VS'; readonly virtualServer: string; readonly state: 'UP' | 'DOWN' };

/**
 * Formats an endpoint as keepalived's checker lines do: `[ip]:proto:port`,
 * protocol in lower case (`[192.0.2.1]:tcp:80`, `[2001:db8::1]:udp:53`).
 */
export function formatEndpoint(address: string, protocol: string, port: number): string {
  return `[${address}]:${protocol.toLowerCase()}:${port}`;
}

/** Renders `ev` as one fifo line, without the trailing newline. */
export function formatFifoLine(ev: FifoEvent): string {
  switch (ev.type) {
    case 'INSTANCE':
      return `INSTANCE "${ev.name}" ${ev.state} ${ev.priority}`;
    case 'GROUP':
      return `GROUP "${ev.name}" ${ev.state} 0`;
    case 'RS':
      return `RS ${ev.realServer} ${ev.virtualServer} ${ev.state}`;
    case 'VS':
      return `VS ${ev.virtualServer} ${ev.state}`;
  }
}

/** Options of {@link NotifyFifo}. */
export interface NotifyFifoOptions {
  /** The named pipe's path. */
  readonly path: string;
  /** Create the fifo (mode 0600, with mkfifo(1)) when it does not exist. */
  readonly create?: boolean;
  readonly logger?: Logger;
}

/** Counters of a {@link NotifyFifo}. */
export interface NotifyFifoStats {
  readonly written: number;
  /** Lines dropped because nobody was reading. */
  readonly droppedNoReader: number;
  /** Lines dropped because the pipe was full (slow reader). */
  readonly droppedFull: number;
  /** Lines dropped for any other error (path missing, not a fifo ...). */
  readonly droppedError: number;
}

/**
 * A non-blocking writer of notify lines to a named pipe. `write` never
 * throws and never blocks; dropped lines are counted in {@link stats}.
 */
export class NotifyFifo {
  private fd: number | null = null;
  private readonly counters = { written: 0, droppedNoReader: 0, droppedFull: 0, droppedError: 0 };
  private readonly logger: Logger;
  private lastWarn = '';

  constructor(private readonly opts: NotifyFifoOptions) {
    this.logger = opts.logger ?? nullLogger;
    if (opts.create) this.ensureFifo();
  }

  /** The fifo's path. */
  get path(): string {
    return this.opts.path;
  }

  /** A snapshot of the counters. */
  get stats(): NotifyFifoStats {
    return { ...this.counters };
  }

  /** Writes one event line; true when written, false when dropped. */
  write(ev: FifoEvent): boolean {
    return this.writeLine(formatFifoLine(ev));
  }

  /** Writes one raw line (a newline is appended); true when written. */
  writeLine(line: string): boolean {
    const buf = Buffer.from(line + '\n');
    for (let attempt = 0; attempt < 2; attempt++) {
      if (this.fd === null && !this.open()) return false;
      try {
        fs.writeSync(this.fd!, buf);
        this.counters.written++;
        this.lastWarn = '';
        return true;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          this.counters.droppedFull++;
          this.warnOnce('EAGAIN', 'notify fifo full, dropping line');
          return false;
        }
        // EPIPE: the reader went away; reopen once, which finds a new reader
        // or fails with ENXIO and counts the drop.
        this.closeFd();
        if (code !== 'EPIPE') {
          this.counters.droppedError++;
          this.warnOnce(code ?? 'error', 'notify fifo write failed', { error: (e as Error).message });
          return false;
        }
      }
    }
    this.counters.droppedNoReader++;
    return false;
  }

  /** Closes the pipe; later writes reopen it. */
  close(): void {
    this.closeFd();
  }

  private open(): boolean {
    try {
      // O_NONBLOCK on a write-only open fails with ENXIO instead of waiting
      // for a reader (fifo(7)); it also makes later writes non-blocking.
      // libuv opens with O_CLOEXEC, so hooks do not inherit the fd.
      const fd = fs.openSync(this.opts.path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      if (!fs.fstatSync(fd).isFIFO()) {
        fs.closeSync(fd);
        this.counters.droppedError++;
        this.warnOnce('ENOTFIFO', 'notify fifo path is not a fifo');
        return false;
      }
      this.fd = fd;
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENXIO') {
        this.counters.droppedNoReader++;
        this.warnOnce('ENXIO', 'notify fifo has no reader, dropping lines');
      } else {
        this.counters.droppedError++;
        this.warnOnce(code ?? 'error', 'notify fifo cannot be opened', { error: (e as Error).message });
      }
      return false;
    }
  }

  private closeFd(): void {
    if (this.fd !== null) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* already gone */
      }
      this.fd = null;
    }
  }

  // One warning per run of identical failures, so a missing reader does not
  // flood the log with a line per event.
  private warnOnce(key: string, message: string, fields?: Record<string, unknown>): void {
    if (this.lastWarn === key) return;
    this.lastWarn = key;
    this.logger.warn(message, { fifo: this.opts.path, ...fields });
  }

  private ensureFifo(): void {
    try {
      fs.lstatSync(this.opts.path);
      return;
    } catch {
      /* missing: create below */
    }
    try {
      // Node has no mkfifo(3); mkfifo(1) from coreutils does it, argv only.
      execFileSync('mkfifo', ['-m', '600', this.opts.path], { stdio: 'ignore' });
    } catch (e) {
      this.logger.warn('cannot create notify fifo', { fifo: this.opts.path, error: (e as Error).message });
    }
  }
}
