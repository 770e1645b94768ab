/**
 * systemd's readiness protocol (sd_notify(3)): datagrams such as "READY=1"
 * or "WATCHDOG=1" to the unix socket named in $NOTIFY_SOCKET. Node's dgram
 * has no unix datagram sockets, so this uses the native shim's plain
 * socket/sendto with a sockaddr_un built here. Without $NOTIFY_SOCKET (not
 * started by systemd, or Type=simple) every call is a no-op.
 */
import { SOCK, native } from './native';

const AF_UNIX = 1;
/** sizeof(sun_path) on Linux. */
const SUN_PATH_MAX = 108;

/** struct sockaddr_un for `path`; a leading '@' names an abstract socket (first byte NUL). */
export function sockaddrUn(path: string): Buffer {
  const name = Buffer.from(path.startsWith('@') ? `\0${path.slice(1)}` : path, 'utf8');
  if (name.length === 0 || name.length >= SUN_PATH_MAX) throw new RangeError(`unix socket path "${path}" is empty or too long`);
  const b = Buffer.alloc(2 + name.length + (path.startsWith('@') ? 0 : 1));
  b.writeUInt16LE(AF_UNIX, 0); // sa_family_t is host order; every Linux target lvsd builds for is little-endian or uses this layout
  name.copy(b, 2);
  return b;
}

/** A sender of sd_notify states. */
export class SdNotify {
  private readonly addr: Buffer | undefined;
  private fd: number | undefined;
  private watchdog: NodeJS.Timeout | undefined;

  /**
   * Reads NOTIFY_SOCKET (and WATCHDOG_USEC / WATCHDOG_PID) from `env`. The
   * watchdog is pinged only while `healthy()` says so (the parent: while
   * every child process is alive or being restarted).
   */
  constructor(private readonly env: NodeJS.ProcessEnv = process.env, private readonly healthy: () => boolean = () => true) {
    const path = env.NOTIFY_SOCKET;
    this.addr = path ? sockaddrUn(path) : undefined;
  }

  /** True when systemd listens. */
  get enabled(): boolean {
    return this.addr !== undefined;
  }

  /** Sends one state line ("READY=1", "STATUS=…"); returns false (never throws) when it could not. */
  send(state: string): boolean {
    if (!this.addr) return false;
    try {
      this.fd ??= native().socket(AF_UNIX, SOCK.DGRAM, 0);
      native().sendto(this.fd, Buffer.from(state, 'utf8'), this.addr);
      return true;
    } catch {
      return false;
    }
  }

  /** READY=1 with a status line, and the watchdog pings when systemd asked for them. */
  ready(status: string): void {
    this.send(`READY=1\nSTATUS=${status}\nMAINPID=${process.pid}`);
    const usec = Number(this.env.WATCHDOG_USEC);
    const forPid = this.env.WATCHDOG_PID === undefined || Number(this.env.WATCHDOG_PID) === process.pid;
    if (!this.watchdog && usec > 0 && forPid) {
      // Half the period, as sd_watchdog_enabled(3) advises; unref'd so it never keeps lvsd alive.
      this.watchdog = setInterval(() => this.healthy() && this.send('WATCHDOG=1'), Math.max(1, Math.floor(usec / 2000)));
      this.watchdog.unref();
    }
  }

  /** RELOADING=1 before a reload; call {@link ready} after it. */
  reloading(): void {
    this.send('RELOADING=1');
  }

  /** STOPPING=1, and the watchdog stops. */
  stopping(): void {
    this.send('STOPPING=1');
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  close(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.fd !== undefined) native().close(this.fd);
    this.fd = undefined;
  }
}
