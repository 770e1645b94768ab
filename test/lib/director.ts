/**
 * Test helpers for director pairs on the namespace test bed: write an lvsd or
 * keepalived configuration, start either inside a namespace, find who holds
 * a VIP, and read what a client's neighbour cache says.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type NsProcess, type Topology, waitFor } from './netns';

/** The repository root (dist/test/lib → ../../..). */
export const REPO = path.resolve(__dirname, '..', '..', '..');
export const LVSD = path.join(REPO, 'bin', 'lvsd');
export const LVSCTL = path.join(REPO, 'bin', 'lvsctl');

/** A scratch directory removed by {@link Scratch.remove}. */
export class Scratch {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'lvsd-test-'));
  file(name: string, text: string, mode = 0o644): string {
    const p = path.join(this.dir, name);
    writeFileSync(p, text, { mode });
    return p;
  }
  path(name: string): string {
    return path.join(this.dir, name);
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One VRRP instance, in the terms both configs share. */
export interface InstanceSpec {
  name?: string;
  interface?: string;
  vrid?: number;
  priority: number;
  state?: 'MASTER' | 'BACKUP';
  version?: 2 | 3;
  advertInt?: number;
  vips: string[];
  nopreempt?: boolean;
  preemptDelay?: number;
  unicastSrc?: string;
  unicastPeers?: string[];
  unicastTtl?: number;
  transport?: 'raw' | 'udp';
  authPass?: string;
  notify?: string;
  extra?: string[];
}

/** An lvsd.conf holding `instances`. */
export function lvsdConfig(routerId: string, socket: string, instances: InstanceSpec[], global: string[] = []): string {
  // Each test daemon gets its own pid file and state_dir (its events, overrides): namespaces do not separate /run or /var/lib.
  const pid = `${socket.replace(/\.sock$/, '')}.pid`;
  const own = [
    ...(global.some((l) => /^\s*pid_file\s*=/.test(l)) ? [] : [`pid_file = ${pid}`]),
    ...(global.some((l) => /^\s*state_dir\s*=/.test(l)) ? [] : [`state_dir = ${socket.replace(/\.sock$/, '')}.state`]),
  ];
  const lines = ['[global]', `router_id = ${routerId}`, `control_socket = ${socket}`, ...own, 'log_level = debug', ...global, ''];
  instances.forEach((i, n) => {
    lines.push(`[vrrp_instance.${i.name ?? `VI_${n + 1}`}]`);
    lines.push(`state = ${i.state ?? 'BACKUP'}`, `interface = ${i.interface ?? 'eth0'}`);
    lines.push(`virtual_router_id = ${i.vrid ?? 51}`, `priority = ${i.priority}`);
    lines.push(`advert_int = ${i.advertInt ?? 1}`, `version = ${i.version ?? 3}`);
    for (const v of i.vips) lines.push(`virtual_ipaddress[] = ${v}`);
    if (i.unicastSrc) lines.push(`unicast_src_ip = ${i.unicastSrc}`);
    for (const p of i.unicastPeers ?? []) lines.push(`unicast_peer[] = ${p}`);
    if (i.unicastTtl !== undefined) lines.push(`unicast_ttl = ${i.unicastTtl}`);
    if (i.nopreempt) lines.push('nopreempt = true');
    if (i.preemptDelay !== undefined) lines.push(`preempt_delay = ${i.preemptDelay}`);
    if (i.transport) lines.push(`transport = ${i.transport}`);
    if (i.authPass) lines.push('authentication = PASS', `auth_pass = ${i.authPass}`);
    if (i.notify) lines.push(`notify = ${i.notify}`);
    lines.push(...(i.extra ?? []), '');
  });
  return lines.join('\n');
}

/** The keepalived.conf equivalent of the same instances (VRRP only). */
export function keepalivedConfig(routerId: string, instances: InstanceSpec[]): string {
  const out = [`global_defs {`, `  router_id ${routerId}`, `  vrrp_garp_master_delay 5`, `}`];
  instances.forEach((i, n) => {
    out.push(`vrrp_instance ${i.name ?? `VI_${n + 1}`} {`);
    out.push(`  state ${i.state ?? 'BACKUP'}`, `  interface ${i.interface ?? 'eth0'}`);
    out.push(`  virtual_router_id ${i.vrid ?? 51}`, `  priority ${i.priority}`, `  advert_int ${i.advertInt ?? 1}`);
    out.push(`  version ${i.version ?? 3}`);
    if (i.nopreempt) out.push('  nopreempt');
    if (i.authPass) out.push('  authentication {', '    auth_type PASS', `    auth_pass ${i.authPass}`, '  }');
    if (i.unicastSrc) out.push(`  unicast_src_ip ${i.unicastSrc}`);
    if (i.unicastPeers?.length) out.push('  unicast_peer {', ...i.unicastPeers.map((p) => `    ${p}`), '  }');
    if (i.unicastTtl !== undefined) out.push(`  unicast_ttl ${i.unicastTtl}`);
    const v4 = i.vips.filter((v) => !v.includes(':'));
    const v6 = i.vips.filter((v) => v.includes(':'));
    out.push('  virtual_ipaddress {', ...[...v4, ...v6].map((v) => `    ${v}`), '  }');
    out.push('}');
  });
  return out.join('\n') + '\n';
}

/** Starts lvsd in `host` with `config`; waits until its control socket answers. */
export async function startLvsd(topo: Topology, host: string, config: string, socket: string): Promise<NsProcess> {
  const p = topo.spawn(host, [process.execPath, LVSD, '--config', config]);
  await waitFor(`lvsd in ${host} to answer on ${socket}`, async () => {
    if (p.child.exitCode !== null) throw new Error(`lvsd exited ${p.child.exitCode}: ${p.output().slice(-2000)}`);
    const r = await topo.exec(host, [process.execPath, LVSCTL, '--socket', socket, '--json', 'status']);
    return r.code === 0;
  }, { timeoutMs: 15_000, intervalMs: 100 });
  return p;
}

/** Starts keepalived (VRRP only, foreground) in `host`. */
export function startKeepalived(topo: Topology, host: string, scratch: Scratch, config: string): NsProcess {
  const conf = scratch.file(`${host}-keepalived.conf`, config);
  return topo.spawn(host, [
    'keepalived', '-n', '-l', '-D', '--vrrp', '-f', conf,
    '-p', scratch.path(`${host}-keepalived.pid`), '-r', scratch.path(`${host}-vrrp.pid`),
  ]);
}

/** `lvsctl --json status` of a running daemon. */
export async function lvsdStatus(topo: Topology, host: string, socket: string): Promise<StatusLike> {
  const out = await topo.run(host, [process.execPath, LVSCTL, '--socket', socket, '--json', 'status']);
  return JSON.parse(out) as StatusLike;
}

/** The part of lvsctl's status the tests read. */
export interface StatusLike {
  instances: Array<{ name: string; state: string; effectivePriority: number; master: { address: string } | null; lastTransition: { reason: string } | null; drops: Record<string, number>; peerChecksumForm: string | null }>;
}

/** True when `vip` (no prefix) is configured on `host`'s interfaces. */
export async function holds(topo: Topology, host: string, vip: string): Promise<boolean> {
  const out = await topo.run(host, ['ip', '-j', 'addr', 'show']);
  const links = JSON.parse(out) as Array<{ addr_info?: Array<{ local: string }> }>;
  return links.some((l) => (l.addr_info ?? []).some((a) => a.local === vip));
}

/** Which of `hosts` hold `vip` now. */
export async function holders(topo: Topology, hosts: readonly string[], vip: string): Promise<string[]> {
  const r = await Promise.all(hosts.map(async (h) => ((await holds(topo, h, vip)) ? h : undefined)));
  return r.filter((h): h is string => h !== undefined);
}

/**
 * Waits until exactly `host` among `hosts` holds `vip` (or just `host`, when
 * `exclusive` is false: a director killed with -9 cannot remove its VIP);
 * returns the elapsed milliseconds since `since` (a performance.now() value).
 */
export async function waitHolder(topo: Topology, hosts: readonly string[], vip: string, host: string, since: number, timeoutMs: number, exclusive = true): Promise<number> {
  await waitFor(`${vip} held by ${host}${exclusive ? ' alone' : ''}`, async () => {
    if (!exclusive) return holds(topo, host, vip);
    const h = await holders(topo, hosts, vip);
    return h.length === 1 && h[0] === host;
  }, { timeoutMs, intervalMs: 20 });
  return performance.now() - since;
}

/** The MAC the client's neighbour cache has for `vip`, after reaching it once. */
export async function clientNeighbour(topo: Topology, client: string, vip: string): Promise<string | undefined> {
  const v6 = vip.includes(':');
  await topo.exec(client, ['ping', v6 ? '-6' : '-4', '-c', '1', '-W', '1', vip]);
  const out = await topo.run(client, ['ip', '-j', v6 ? '-6' : '-4', 'neigh', 'show', vip]);
  const n = JSON.parse(out) as Array<{ lladdr?: string; state?: string[] }>;
  return n[0]?.lladdr;
}

/** SIGKILLs or SIGTERMs a started process and waits for it to go. */
export async function stop(p: NsProcess, signal: NodeJS.Signals): Promise<void> {
  // `ip netns exec` execs the program, so the child's pid is the daemon's.
  p.child.kill(signal);
  await p.exited;
}
