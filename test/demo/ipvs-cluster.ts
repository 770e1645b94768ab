/**
 * The IPVS demo's cluster: a client, two lvsd directors (priorities 150 and
 * 100) and three real servers in network namespaces, wired for one LVS
 * forwarding method. It builds the topology in one shell script (every exec
 * costs 30-130 ms under the VM's emulation), starts and kills what each host
 * runs, reads lvsd's control socket directly (the same requests lvsctl
 * sends), and tears it all down.
 *
 * NAT   client 192.0.2.50 ── br0 ── d1/d2 eth0 .11/.12 ─┐ VIP 192.0.2.100/24 (VI_1)
 *                                  d1/d2 eth1 198.51.100.11/.12 ── br1 ── rs1-3 198.51.100.21-23
 *       the real servers' default route is the gateway VIP 198.51.100.254/24 (VI_GW); VI_1 and
 *       VI_GW form a sync group; connection sync (lvs_sync_daemon) on eth1.
 * DR    one bridge: client 192.0.2.50, d1 .11, d2 .12, rs1-3 .21-23; VIP 192.0.2.100/24; the
 *       real servers carry the VIP on lo (packaging/realserver/lvs-realserver --mode dr).
 * TUN   client 203.0.113.50 ── br0 ── router 203.0.113.1 | 192.0.2.1 ── br1 ── d1 .11, d2 .12,
 *       rs1-3 .21-23; VIP 198.51.100.100/32; the directors tunnel (IPIP) to the real servers,
 *       which carry the VIP on tunl0 (lvs-realserver --mode tun) and answer through the router.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { request } from '../../src/control/client';
import type { EventRecord, EventsResult, StatusResult } from '../../src/control/types';
import { LVSD, REPO, Scratch } from '../lib/director';
import { exec, run } from '../lib/netns';
import type { IpvsMode } from './args';

/** The directors, in priority order. */
export const DIRECTORS = ['d1', 'd2'] as const;
export type DirectorName = (typeof DIRECTORS)[number];
/** The real servers. */
export const REALS = ['rs1', 'rs2', 'rs3'] as const;
export type RealName = (typeof REALS)[number];
/** VRRP priorities: d1 is the preferred master. */
export const PRIORITY: Readonly<Record<DirectorName, number>> = { d1: 150, d2: 100 };
/** The service port, on the VIP and on the real servers. */
export const PORT = 80;
/** The packaged real-server setup script. */
export const LVS_REALSERVER = path.join(REPO, 'packaging', 'realserver', 'lvs-realserver');

/** One interface of a host: its name, bridge and address (CIDR). */
interface Nic {
  readonly ifname: string;
  readonly bridge: string;
  readonly cidr: string;
}

/** Everything mode-specific about the cluster. */
export interface ModePlan {
  readonly mode: IpvsMode;
  /** The virtual service's address, without prefix. */
  readonly vip: string;
  /** The VIP as lvsd's VI_1 carries it. */
  readonly vipCidr: string;
  /** NAT only: the real servers' gateway VIP (VI_GW on eth1). */
  readonly gatewayCidr?: string;
  /** The client's address (no prefix). */
  readonly client: string;
  /** Each real server's own address (no prefix): where the directors forward and check. */
  readonly reals: Readonly<Record<RealName, string>>;
  /** Each host's interfaces. */
  readonly hosts: Readonly<Record<string, readonly Nic[]>>;
  /** Default routes: host → next hop. */
  readonly routes: Readonly<Record<string, string>>;
  /** Hosts that forward packets (ip_forward=1). */
  readonly forwarders: readonly string[];
  /** Extra `ip -n NS …` argument lists run after the links are up (e.g. the router's VIP route). */
  readonly extra: ReadonlyArray<readonly [string, string]>;
  /** `lvs_sync_daemon` value: interface and instance the kernel's connection sync follows. */
  readonly syncDaemon: string;
  /** The topology, as printed in the summary. */
  readonly picture: readonly string[];
}

const nic = (ifname: string, bridge: string, cidr: string): Nic => ({ ifname, bridge, cidr });

/** Hosts with one interface, eth0 on `bridge`, each at `net`.octet/24 (`net` the first three octets). */
const eth0On = (bridge: string, net: string, octets: Readonly<Record<string, number>>): Record<string, Nic[]> =>
  Object.fromEntries(Object.entries(octets).map(([h, o]) => [h, [nic('eth0', bridge, `${net}.${o}/24`)]]));

/** The real servers' own addresses: rs1, rs2, rs3 at .21, .22, .23 of `net`. */
const realsIn = (net: string): Record<RealName, string> => ({ rs1: `${net}.21`, rs2: `${net}.22`, rs3: `${net}.23` });

/** The same default route for each real server. */
const realsVia = (gateway: string): Record<RealName, string> => ({ rs1: gateway, rs2: gateway, rs3: gateway });

/** The plan of `mode` (addresses from RFC 5737 documentation ranges). */
export function modePlan(mode: IpvsMode): ModePlan {
  switch (mode) {
    case 'nat':
      return {
        mode,
        vip: '192.0.2.100',
        vipCidr: '192.0.2.100/24',
        gatewayCidr: '198.51.100.254/24',
        client: '192.0.2.50',
        reals: realsIn('198.51.100'),
        hosts: {
          client: [nic('eth0', 'br0', '192.0.2.50/24')],
          d1: [nic('eth0', 'br0', '192.0.2.11/24'), nic('eth1', 'br1', '198.51.100.11/24')],
          d2: [nic('eth0', 'br0', '192.0.2.12/24'), nic('eth1', 'br1', '198.51.100.12/24')],
          ...eth0On('br1', '198.51.100', { rs1: 21, rs2: 22, rs3: 23 }),
        },
        routes: realsVia('198.51.100.254'),
        forwarders: ['d1', 'd2'],
        extra: [],
        syncDaemon: 'eth1 VI_GW id 1',
        picture: [
          '  client 192.0.2.50 ──┐ br0 (front, 192.0.2.0/24)            br1 (inside, 198.51.100.0/24)',
          '                      ├── d1 eth0 192.0.2.11  prio 150  eth1 198.51.100.11 ──┬── rs1 198.51.100.21',
          '                      └── d2 eth0 192.0.2.12  prio 100  eth1 198.51.100.12 ──┼── rs2 198.51.100.22',
          '                                                                              └── rs3 198.51.100.23',
          '  LVS-NAT: VI_1 holds the VIP 192.0.2.100/24 on eth0, VI_GW the real servers\' gateway',
          '        198.51.100.254/24 on eth1 (their default route); both in sync group DEMO, so they move',
          '        together; connection sync (lvs_sync_daemon) on eth1. Replies go back through the director.',
        ],
      };
    case 'dr':
      return {
        mode,
        vip: '192.0.2.100',
        vipCidr: '192.0.2.100/24',
        client: '192.0.2.50',
        reals: realsIn('192.0.2'),
        hosts: eth0On('br0', '192.0.2', { client: 50, d1: 11, d2: 12, rs1: 21, rs2: 22, rs3: 23 }),
        routes: {},
        forwarders: ['d1', 'd2'],
        extra: [],
        syncDaemon: 'eth0 VI_1 id 1',
        picture: [
          '  one LAN, br0 (192.0.2.0/24): client .50, d1 .11 (prio 150), d2 .12 (prio 100), rs1 .21, rs2 .22, rs3 .23',
          '  LVS-DR: VI_1 holds the VIP 192.0.2.100/24 on the master\'s eth0; the director rewrites only the',
          '        destination MAC; the real servers carry the VIP /32 on lo and never answer ARP for it',
          '        (lvs-realserver setup --mode dr), and reply to the client directly.',
        ],
      };
    case 'tun':
      return {
        mode,
        vip: '198.51.100.100',
        vipCidr: '198.51.100.100/32',
        client: '203.0.113.50',
        reals: realsIn('192.0.2'),
        hosts: {
          client: [nic('eth0', 'br0', '203.0.113.50/24')],
          router: [nic('eth0', 'br0', '203.0.113.1/24'), nic('eth1', 'br1', '192.0.2.1/24')],
          ...eth0On('br1', '192.0.2', { d1: 11, d2: 12, rs1: 21, rs2: 22, rs3: 23 }),
        },
        routes: { client: '203.0.113.1', d1: '192.0.2.1', d2: '192.0.2.1', ...realsVia('192.0.2.1') },
        forwarders: ['router', 'd1', 'd2'],
        // The VIP is on-link behind eth1: the router ARPs for it and the master answers.
        extra: [['router', 'route add 198.51.100.100/32 dev eth1']],
        syncDaemon: 'eth0 VI_1 id 1',
        picture: [
          '  client 203.0.113.50 ── br0 ── router 203.0.113.1 | 192.0.2.1 ── br1 ──┬── d1 192.0.2.11  prio 150',
          '                                                                       ├── d2 192.0.2.12  prio 100',
          '                                                                       └── rs1 .21, rs2 .22, rs3 .23',
          '  LVS-TUN: VI_1 holds the VIP 198.51.100.100/32 on the master\'s eth0; the director wraps each',
          '        packet in IPIP to the real server, which carries the VIP on tunl0 (lvs-realserver setup',
          '        --mode tun) and replies through the router, never through the director.',
        ],
      };
  }
}

/** The lvsd.conf of director `d` for `plan`. */
export function lvsdConf(plan: ModePlan, d: DirectorName, socket: string, stateDir: string, advertInt: number): string {
  const instance = (name: string, ifname: string, vrid: number, vip: string): string[] => [
    `[vrrp_instance.${name}]`, 'state = BACKUP', `interface = ${ifname}`, `virtual_router_id = ${vrid}`,
    `priority = ${PRIORITY[d]}`, `advert_int = ${advertInt}`, 'version = 3', `virtual_ipaddress[] = ${vip}`, '',
  ];
  const lines = [
    '[global]', `router_id = demo-${d}`, `control_socket = ${socket}`, `state_dir = ${stateDir}`, 'log_level = info',
    `lvs_sync_daemon = ${plan.syncDaemon}`, '',
  ];
  if (plan.gatewayCidr) lines.push('[vrrp_sync_group.DEMO]', 'group[] = VI_1', 'group[] = VI_GW', '');
  lines.push(...instance('VI_1', 'eth0', 51, plan.vipCidr));
  if (plan.gatewayCidr) lines.push(...instance('VI_GW', 'eth1', 52, plan.gatewayCidr));
  lines.push(
    // A killed web server refuses at once: one failed connect takes it out.
    '[check.tcp80]', 'type = TCP_CHECK', 'connect_timeout = 1', 'delay_loop = 1', 'retry = 0', '',
    '[virtual_server.web]', `address = ${plan.vip}:${PORT}`, 'protocol = TCP', 'lb_algo = rr',
    `lb_kind = ${plan.mode.toUpperCase()}`, 'check = tcp80', '',
  );
  for (const r of REALS) lines.push(`[real_server.web.${r}]`, `address = ${plan.reals[r]}:${PORT}`, 'weight = 1', '');
  return lines.join('\n');
}

/** Single-quotes a string for sh. */
function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A process started in a namespace, with its output kept. */
export interface ClusterProcess {
  readonly child: ChildProcess;
  readonly name: string;
  output(): string;
  readonly exited: Promise<void>;
}

/** The running cluster of one mode. Call {@link IpvsCluster.destroy} always. */
export class IpvsCluster {
  readonly plan: ModePlan;
  readonly id = randomBytes(3).toString('hex');
  readonly scratch = new Scratch();
  private readonly made: string[] = [];
  private readonly procs: ClusterProcess[] = [];
  private readonly lvsd = new Map<DirectorName, ClusterProcess>();
  private readonly httpd = new Map<RealName, ClusterProcess>();
  private building: Promise<void> | undefined;
  private destroyed = false;

  constructor(mode: IpvsMode, private readonly advertInt: number) {
    this.plan = modePlan(mode);
  }

  /** The kernel name of host `h`'s namespace ("sw" holds the bridges). */
  ns(h: string): string {
    return `demo-${h}-${this.id}`;
  }

  /** The hosts of this mode, the switch first. */
  hosts(): string[] {
    return ['sw', ...Object.keys(this.plan.hosts)];
  }

  /** The kernel names of every namespace of the cluster. */
  namespaces(): string[] {
    return this.hosts().map((h) => this.ns(h));
  }

  /** The bridges of this mode. */
  bridges(): string[] {
    return [...new Set(Object.values(this.plan.hosts).flatMap((nics) => nics.map((n) => n.bridge)))].sort();
  }

  /** The control socket of director `d`. */
  socket(d: DirectorName): string {
    return this.scratch.path(`${d}.sock`);
  }

  /** Creates namespaces, bridges, links, addresses, routes and (DR, TUN) the real servers' VIP setup. */
  build(): Promise<void> {
    this.building ??= this.doBuild();
    return this.building;
  }

  /**
   * The shell script {@link build} runs: one `ip -batch` per namespace, since
   * under the VM's emulation each exec costs 30-130 ms (far more under load).
   */
  buildScript(): string {
    const p = this.plan;
    const sw = this.ns('sw');
    const batch = (ns: string | undefined, lines: readonly string[]): string[] =>
      lines.length === 0 ? [] : [`ip ${ns ? `-n ${ns} ` : ''}-batch - <<'EOF'`, ...lines, 'EOF'];
    const l: string[] = ['set -e'];
    l.push(...batch(undefined, this.hosts().map((h) => `netns add ${this.ns(h)}`)));
    const swLines = ['link set lo up'];
    for (const b of this.bridges()) swLines.push(`link add ${b} type bridge forward_delay 0 mcast_snooping 0`, `link set ${b} up`);
    for (const [h, nics] of Object.entries(p.hosts)) {
      for (const n of nics) {
        const outer = `${h}${n.ifname}`;
        swLines.push(`link add ${outer} type veth peer name ${n.ifname} netns ${this.ns(h)}`, `link set ${outer} master ${n.bridge} up`);
      }
    }
    l.push(...batch(sw, swLines));
    for (const [h, nics] of Object.entries(p.hosts)) {
      const hl = ['link set lo up'];
      for (const n of nics) hl.push(`addr add ${n.cidr} dev ${n.ifname}`, `link set ${n.ifname} up`);
      if (p.routes[h]) hl.push(`route add default via ${p.routes[h]}`);
      for (const [eh, args] of p.extra) if (eh === h) hl.push(args);
      l.push(...batch(this.ns(h), hl));
    }
    for (const h of p.forwarders) l.push(`ip netns exec ${this.ns(h)} sysctl -qw net.ipv4.ip_forward=1`);
    if (p.mode !== 'nat') {
      // lvs-realserver keeps the sysctls it changed in its state dir: ours goes with the scratch dir.
      l.push('pids=""');
      for (const r of REALS) {
        l.push(`ip netns exec ${this.ns(r)} env LVS_REALSERVER_STATE_DIR=${shq(this.scratch.path(`rs-state-${r}`))} ` +
          `sh ${shq(LVS_REALSERVER)} setup --mode ${p.mode} ${p.vip} >${shq(this.scratch.path(`${r}-setup.out`))} 2>&1 &`, 'pids="$pids $!"');
      }
      l.push(`for p in $pids; do wait "$p" || { echo "lvs-realserver setup failed:"; cat ${shq(this.scratch.dir)}/rs*-setup.out; exit 1; }; done`);
    }
    return l.join('\n') + '\n';
  }

  private async doBuild(): Promise<void> {
    if (this.destroyed) throw new Error('interrupted');
    // Remembered before running: a half-built topology is still torn down.
    this.made.push(...this.namespaces());
    await run(['sh', '-c', this.buildScript()]);
    for (const r of REALS) {
      const www = this.scratch.path(`www-${r}`);
      mkdirSync(www, { recursive: true });
      // JSON, so the client prints who served it (client.ts parses answers).
      writeFileSync(path.join(www, 'index.html'), JSON.stringify({ server: r, addr: this.plan.reals[r] }));
    }
  }

  /** Starts argv in host `h`'s namespace; {@link destroy} kills it. */
  spawn(h: string, argv: readonly string[], name = `${h}:${path.basename(argv[0]!)}`): ClusterProcess {
    if (this.destroyed) throw new Error('interrupted');
    const child = spawn('ip', ['netns', 'exec', this.ns(h), ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    const exited = new Promise<void>((resolve) => {
      child.on('exit', () => resolve());
      child.on('error', () => resolve());
    });
    const p: ClusterProcess = { child, name, output: () => text, exited };
    this.procs.push(p);
    return p;
  }

  /** Runs argv in host `h`'s namespace and returns its stdout; throws on failure. */
  run(h: string, argv: readonly string[]): Promise<string> {
    return run(['ip', 'netns', 'exec', this.ns(h), ...argv], { timeoutMs: 30_000 });
  }

  /** Starts each real server's web server (busybox httpd on port 80, answering its JSON name). */
  startRealServers(): void {
    for (const r of REALS) {
      this.httpd.set(r, this.spawn(r, ['busybox', 'httpd', '-f', '-p', String(PORT), '-h', this.scratch.path(`www-${r}`)], `${r}:httpd`));
    }
  }

  /** Writes d's lvsd.conf and starts lvsd; returns the process (its log is its output). */
  startLvsd(d: DirectorName): ClusterProcess {
    const state = this.scratch.path(`${d}-state`);
    mkdirSync(state, { recursive: true });
    const conf = this.scratch.file(`${d}.conf`, lvsdConf(this.plan, d, this.socket(d), state, this.advertInt));
    const p = this.spawn(d, [process.execPath, LVSD, '--config', conf], `${d}:lvsd`);
    this.lvsd.set(d, p);
    return p;
  }

  /** d's lvsd.conf, once started. */
  confPath(d: DirectorName): string {
    return this.scratch.path(`${d}.conf`);
  }

  /** `status` over d's control socket (what `lvsctl --json status` prints). */
  async status(d: DirectorName): Promise<StatusResult> {
    return (await request(this.socket(d), 'status', {}, 3000)) as StatusResult;
  }

  /** VRRP `events` over d's control socket (what `lvsctl --json --subsystem vrrp events` prints), oldest first. */
  async events(d: DirectorName): Promise<readonly EventRecord[]> {
    return ((await request(this.socket(d), 'events', { subsystem: 'vrrp' }, 5000)) as EventsResult<EventRecord>).events;
  }

  /** `ipvsadm -Ln` in d's namespace. */
  table(d: DirectorName): Promise<string> {
    return this.run(d, ['ipvsadm', '-Ln']);
  }

  /** A real server fails: SIGKILL of its web server. Returns performance.now() of the kill. */
  async failReal(r: RealName): Promise<number> {
    const p = this.httpd.get(r);
    if (!p) throw new Error(`${r}'s web server is not running`);
    const t = performance.now();
    p.child.kill('SIGKILL');
    await p.exited;
    return t;
  }

  /**
   * Director `d` dies as a box does: every process in its namespace (lvsd's
   * supervisor and its VRRP and director children) is frozen, its links go
   * down, then all are killed with SIGKILL. Freezing first matters: a live
   * VRRP child that saw its parent or its links go would resign with a
   * priority-0 advert, which a dead box cannot send; and kill -9 of lvsd
   * alone would leave the VIP and the IPVS table in d's kernel, still
   * forwarding. Resolves once all is done.
   */
  async crash(d: DirectorName): Promise<void> {
    const ns = this.ns(d);
    const downs = this.plan.hosts[d]!.map((n) => `ip -n ${ns} link set ${n.ifname} down`).join('\n');
    await run(['sh', '-c', `pids=$(ip netns pids ${ns})\nkill -STOP $pids\n${downs}\nkill -KILL $pids`]);
    await this.lvsd.get(d)?.exited;
    this.lvsd.delete(d);
  }

  /** Outputs of every process, for a failure's message. */
  diagnostics(): string {
    return this.procs.map((p) => `--- ${p.name} (pid ${p.child.pid})\n${p.output().slice(-3000)}`).join('\n');
  }

  /** Kills every process, deletes every namespace and the scratch directory; safe to call twice. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    await this.building?.catch(() => undefined);
    for (const p of this.procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 2000))])));
    this.procs.length = 0;
    const names = this.made.splice(0).reverse();
    if (names.length > 0) {
      // Whatever a process left in a namespace goes with it (IPVS tables are per namespace too).
      const script = `for ns in ${names.join(' ')}; do
  [ -e /run/netns/$ns ] || continue
  for p in $(ip netns pids $ns); do kill -9 $p 2>/dev/null; done
  ip netns del $ns
done`;
      await exec(['sh', '-c', script], { timeoutMs: 30_000 });
    }
    this.scratch.remove();
  }
}

/** True when this kernel has IPVS (loading the module first where that is possible). */
export async function kernelHasIpvs(): Promise<boolean> {
  if (existsSync('/proc/net/ip_vs')) return true;
  await exec(['modprobe', '-q', 'ip_vs'], { timeoutMs: 10_000 }).catch(() => undefined);
  return existsSync('/proc/net/ip_vs');
}
