/**
 * Packet capture for benchmarks: tcpdump running inside a namespace, its
 * lines parsed into timestamped events (gratuitous ARPs and VRRP adverts).
 *
 * tcpdump is used rather than a node socket because its timestamps are the
 * kernel's receive times (SO_TIMESTAMP, microseconds, CLOCK_REALTIME): the
 * capture process's own scheduling delay does not enter the figures.
 */
import type { NsProcess, Topology } from '../../test/lib/netns';

/** One captured frame that a benchmark cares about. */
export type CaptureEvent =
  | { kind: 'garp'; t: number; srcMac: string; ip: string }
  | { kind: 'vrrp'; t: number; srcMac: string; src: string; vrid: number; prio: number; version: number; intervalCs: number };

/** tcpdump's text for one frame; undefined for what the benchmarks ignore. */
export function parseTcpdumpLine(line: string): CaptureEvent | undefined {
  // -tt -e -n: "1700000000.123456 aa:..:ff > ff:..:ff, ethertype ARP (0x0806), length 42: Request who-has X tell Y, length 28"
  const head = /^(\d+\.\d+) ([0-9a-f:]{17}) > ([0-9a-f:]{17}), ethertype (\S+)/.exec(line);
  if (!head) return undefined;
  // Seconds with microseconds, as milliseconds (the unit Date and performance use).
  const t = Number(head[1]) * 1000;
  const srcMac = head[2]!;
  const arp = /Request who-has (\S+)(?: \([0-9a-f:]+\))? tell (\S+),/.exec(line);
  // A gratuitous ARP is a request whose sender and target address are both the VIP.
  if (arp && arp[1] === arp[2]) return { kind: 'garp', t, srcMac, ip: arp[1]! };
  const v = /(\S+) > (?:224\.0\.0\.18|ff02::12): VRRPv(\d), Advertisement, vrid (\d+), prio (\d+), intvl (\d+)(cs|s)/.exec(line);
  if (v) {
    const n = Number(v[5]);
    return { kind: 'vrrp', t, srcMac, src: v[1]!, version: Number(v[2]), vrid: Number(v[3]), prio: Number(v[4]), intervalCs: v[6] === 's' ? n * 100 : n };
  }
  return undefined;
}

/** A running capture; {@link Capture.events} grows as frames arrive. */
export class Capture {
  readonly events: CaptureEvent[] = [];
  private buf = '';
  private constructor(private readonly proc: NsProcess) {
    proc.child.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const e = parseTcpdumpLine(line);
        if (process.env.BENCH_DEBUG_CAPTURE) console.error(`capture: ${line}${e ? '' : ' (ignored)'}`);
        if (e) this.events.push(e);
      }
    });
  }

  /**
   * Starts tcpdump on `ifname` in `host` with `filter`, and waits until it
   * is listening (tcpdump says so on stderr).
   */
  static async start(topo: Topology, host: string, filter: string, ifname = 'eth0'): Promise<Capture> {
    // -B: a 16 MB buffer so bursts (thousands of instances) are not dropped.
    const p = topo.spawn(host, ['tcpdump', '-i', ifname, '-n', '-e', '-tt', '-l', '--immediate-mode', '-B', '16384', filter]);
    const c = new Capture(p);
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start in ${host}: ${err}`)), 10_000);
      p.child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      p.child.on('exit', () => reject(new Error(`tcpdump exited in ${host}: ${err}`)));
    });
    return c;
  }

  /** Drops every event recorded so far (between samples). */
  clear(): void {
    this.events.length = 0;
  }

  /** tcpdump's own count of dropped frames is printed at exit; stop it and return its stderr. */
  async stop(): Promise<string> {
    let err = '';
    this.proc.child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    this.proc.child.kill('SIGINT');
    await Promise.race([this.proc.exited, new Promise((r) => setTimeout(r, 3000))]);
    return err;
  }
}

/** CLOCK_REALTIME now, in milliseconds with sub-millisecond resolution: the clock tcpdump stamps frames with. */
export function realtimeMs(): number {
  return performance.timeOrigin + performance.now();
}
