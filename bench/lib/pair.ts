/**
 * A director pair on the namespace bed, driven the same way whichever daemon
 * runs it: start lvsd or keepalived in two namespaces with one configuration
 * shape, kill them, clean their leftovers.
 */
import { existsSync, rmSync } from 'node:fs';
import { type InstanceSpec, keepalivedConfig, lvsdConfig, type Scratch, startKeepalived, startLvsd } from '../../test/lib/director';
import type { NsProcess, Topology } from '../../test/lib/netns';

/** The two daemons compared. */
export type Daemon = 'lvsd' | 'keepalived';
export const DAEMONS: readonly Daemon[] = ['lvsd', 'keepalived'];

/**
 * Starts `daemon` in `host` with `instances`; `extraLvsd` lines go into
 * lvsd's file as is, `extraKeepalived` text is appended to keepalived's.
 * lvsd is started with `lvsdArgs` added (e.g. --dry-run).
 */
export async function startDaemon(
  topo: Topology,
  scratch: Scratch,
  daemon: Daemon,
  host: string,
  instances: InstanceSpec[],
  opts: { lvsdExtra?: string; keepalivedExtra?: string; tag?: string } = {},
): Promise<NsProcess> {
  const tag = opts.tag ?? '';
  if (daemon === 'lvsd') {
    const sock = scratch.path(`${host}${tag}.sock`);
    const conf = scratch.file(`${host}${tag}-lvsd.conf`, lvsdConfig(host, sock, instances) + (opts.lvsdExtra ?? ''));
    return startLvsd(topo, host, conf, sock);
  }
  // keepalived refuses to start over a pid file whose process it thinks alive.
  for (const f of [`${host}-keepalived.pid`, `${host}-vrrp.pid`]) {
    if (existsSync(scratch.path(f))) rmSync(scratch.path(f), { force: true });
  }
  return startKeepalived(topo, host, scratch, keepalivedConfig(host, instances) + (opts.keepalivedExtra ?? ''));
}

/**
 * SIGKILLs every process in `host` (the box dies); returns how many. With
 * `freeze`, all are SIGSTOPped first: a daemon's child told of its parent's
 * death (keepalived's children use PR_SET_PDEATHSIG) could otherwise still
 * send a priority-0 advert in the microseconds between two kill() calls.
 */
export async function killAll(topo: Topology, host: string, freeze = false): Promise<number> {
  const pids = await topo.pidsOf(host);
  signalAll(pids, freeze);
  return pids.length;
}

/**
 * SIGKILLs `pids` now, synchronously (SIGSTOP to all first with `freeze`):
 * a benchmark lists the pids first, then takes its kill time and calls this,
 * so listing them (`ip netns pids`, tens of ms under load) is not timed.
 */
export function signalAll(pids: readonly number[], freeze = false): void {
  for (const sig of freeze ? (['SIGSTOP', 'SIGKILL'] as const) : (['SIGKILL'] as const)) {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  }
}

/** SIGKILLs every process in `host`, without freezing first. */
async function killNow(topo: Topology, host: string): Promise<void> {
  for (const pid of await topo.pidsOf(host)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Waits until no process is left in `host` (after {@link killAll}). */
export async function waitEmpty(topo: Topology, host: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while ((await topo.pidsOf(host)).length > 0) {
    if (performance.now() > deadline) throw new Error(`processes left in ${host} after SIGKILL`);
    await killNow(topo, host);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Removes `cidrs` from `ifname` in `host`, ignoring those not there (what a kill -9 leaves). */
export async function dropAddresses(topo: Topology, host: string, cidrs: readonly string[], ifname = 'eth0'): Promise<void> {
  for (const c of cidrs) await topo.exec(host, ['ip', 'addr', 'del', c, 'dev', ifname]);
}

/** Sleeps `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
