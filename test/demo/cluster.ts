/**
 * The demo's cluster on the namespace test bed: a client and two directors on
 * a front bridge, the directors and two real servers on a back bridge. It
 * starts and crashes the programs each host runs, and tears it all down.
 *
 *   client 192.0.2.50 ── br0 ── d1 192.0.2.11 (prio 150) ── br1 ── rs1 198.51.100.1
 *                           └── d2 192.0.2.12 (prio 100) ──┘  └── rs2 198.51.100.2
 *   VIP 192.0.2.100/24 on the master's eth0; d1/d2 are 198.51.100.11/.12 on eth1.
 */
import * as path from 'node:path';
import type { EventRecord } from '../../src/control/types';
import { type NsProcess, Topology, waitFor } from '../lib/netns';
import { LVSCTL, Scratch, lvsdConfig, startLvsd } from '../lib/director';

/** The directors, in priority order. */
export const DIRECTORS = ['d1', 'd2'] as const;
export type DirectorName = (typeof DIRECTORS)[number];
/** The real servers. */
export const REALS = ['rs1', 'rs2'] as const;
export type RealName = (typeof REALS)[number];

/** Every address of the demo (documentation ranges, RFC 5737). */
export const ADDR = {
  client: '192.0.2.50',
  d1: '192.0.2.11',
  d2: '192.0.2.12',
  vip: '192.0.2.100',
  d1Inside: '198.51.100.11',
  d2Inside: '198.51.100.12',
  rs1: '198.51.100.1',
  rs2: '198.51.100.2',
} as const;

/** VRRP priorities: d1 is the preferred master. */
export const PRIORITY: Readonly<Record<DirectorName, number>> = { d1: 150, d2: 100 };
/** The VRRP instance the demo runs. */
export const VRID = 51;
/** The service port, on the VIP and on the real servers. */
export const PORT = 80;

const SCRIPT = (name: string): string => path.join(__dirname, `${name}.js`);

/** The running demo cluster. Call {@link DemoCluster.destroy} always. */
export class DemoCluster {
  private topology: Topology | undefined;
  private building: Promise<void> | undefined;
  private destroyed = false;
  readonly scratch = new Scratch();
  /** MAC of each host's front (eth0) interface. */
  readonly macs: Record<string, string> = {};
  private readonly lvsd = new Map<DirectorName, NsProcess>();
  private readonly standin = new Map<DirectorName, NsProcess>();

  constructor(private readonly advertInt: number) {}

  /** The namespace test bed; only after {@link build}. */
  get topo(): Topology {
    if (!this.topology) throw new Error('the demo cluster is not built');
    return this.topology;
  }

  /** The control socket of director `d`. */
  socket(d: DirectorName): string {
    return this.scratch.path(`${d}.sock`);
  }

  /** Creates the namespaces, links and addresses; {@link destroy} may interrupt it. */
  build(): Promise<void> {
    this.building ??= this.doBuild();
    return this.building;
  }

  private async doBuild(): Promise<void> {
    this.topology = await Topology.create('demo');
    const step = async (f: () => Promise<unknown>): Promise<void> => {
      if (this.destroyed) throw new Error('interrupted');
      await f();
    };
    await step(async () => (this.macs.client = await this.topo.addHost('client', [`${ADDR.client}/24`])));
    for (const d of DIRECTORS) {
      await step(async () => (this.macs[d] = await this.topo.addHost(d, [`${ADDR[d]}/24`])));
      await step(() => this.topo.addHost(d, [`${ADDR[`${d}Inside`]}/24`], { ifname: 'eth1', bridge: 'br1' }));
    }
    for (const r of REALS) await step(async () => (this.macs[r] = await this.topo.addHost(r, [`${ADDR[r]}/24`], { bridge: 'br1' })));
  }

  /** The kernel names of the demo's namespaces. */
  namespaces(): string[] {
    return ['sw', 'client', ...DIRECTORS, ...REALS].map((h) => this.topo.ns(h));
  }

  /** Starts both real servers and waits until each answers from d1. */
  async startRealServers(): Promise<void> {
    for (const r of REALS) this.topo.spawn(r, [process.execPath, SCRIPT('realserver'), r, ADDR[r], String(PORT)]);
    for (const r of REALS) {
      await waitFor(`real server ${r} to answer`, async () => (await this.topo.exec('d1', [process.execPath, SCRIPT('client'), '--once', `http://${ADDR[r]}:${PORT}/`])).code === 0, { timeoutMs: 10_000, intervalMs: 100 });
    }
  }

  /** Starts director `d`'s stand-in load balancer and waits until it listens. */
  async startStandin(d: DirectorName): Promise<void> {
    const p = this.topo.spawn(d, [process.execPath, SCRIPT('standin'), d, String(PORT), REALS.map((r) => ADDR[r]).join(',')]);
    this.standin.set(d, p);
    await waitFor(`the stand-in on ${d} to listen`, () => {
      if (p.child.exitCode !== null) throw new Error(`it exited: ${p.output()}`);
      return p.output().includes('listening');
    }, { timeoutMs: 10_000 });
  }

  /** Writes d's lvsd.conf, starts lvsd and waits until its control socket answers. */
  async startLvsd(d: DirectorName): Promise<void> {
    const conf = this.scratch.file(`${d}.conf`, lvsdConfig(`demo-${d}`, this.socket(d), [{
      name: 'VI_1', interface: 'eth0', vrid: VRID, priority: PRIORITY[d], version: 3,
      advertInt: this.advertInt, vips: [`${ADDR.vip}/24`],
    }]));
    this.lvsd.set(d, await startLvsd(this.topo, d, conf, this.socket(d)));
  }

  /** Stops director d's lvsd with SIGTERM (a clean stop: priority 0, VIP removed) and waits for it to exit. */
  async stopLvsd(d: DirectorName): Promise<void> {
    const p = this.lvsd.get(d);
    if (!p) return;
    p.child.kill('SIGTERM');
    await p.exited;
    this.lvsd.delete(d);
  }

  /**
   * A director crash: every process of d (lvsd's parent and children, the
   * stand-in) is frozen, then killed, so nothing gets to clean up and the VIP
   * stays on d's eth0. Killing lvsd's parent alone is no crash: its VRRP child
   * would stop cleanly with a priority-0 advert. Returns performance.now() of
   * the kill; resolves when all are gone.
   */
  async crash(d: DirectorName): Promise<number> {
    const procs = [this.lvsd.get(d), this.standin.get(d)].filter((p): p is NsProcess => p !== undefined);
    const pids = await this.topo.pidsOf(d);
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    const t = performance.now();
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    this.lvsd.delete(d);
    this.standin.delete(d);
    return t;
  }

  /** `lvsctl --json events --subsystem vrrp` of d's running lvsd (oldest first). */
  async events(d: DirectorName): Promise<EventRecord[]> {
    const out = await this.topo.run(d, [process.execPath, LVSCTL, '--socket', this.socket(d), '--json', 'events', '--subsystem', 'vrrp']);
    return (JSON.parse(out) as { events: EventRecord[] }).events;
  }

  /** Which director owns `mac`, or undefined. */
  ownerOf(mac: string | undefined): string | undefined {
    return Object.entries(this.macs).find(([, m]) => m === mac)?.[0];
  }

  /** Kills every process and deletes every namespace and scratch file; safe to call twice. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    await this.building?.catch(() => undefined);
    await this.topology?.destroy();
    this.scratch.remove();
  }
}
