/**
 * The namespace test bed: builds throwaway multi-host topologies out of
 * network namespaces, veth pairs and a bridge, runs programs inside them, and
 * always tears everything down (even when a test fails).
 *
 * Every namespace name carries a random suffix, so parallel or leftover runs
 * never collide. The bridge lives in its own namespace ("the switch"), so the
 * host's own network is never touched.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';

/** The result of a finished command. */
export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs argv to completion; never throws for a non-zero exit (see {@link run}). */
export function exec(argv: readonly string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = opts.timeoutMs
      ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs)
      : undefined;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot run ${argv.join(' ')}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined); // a child that exits without reading is not our error
      child.stdin!.end(opts.input);
    }
  });
}

/** Runs argv and returns stdout; throws with the command and its stderr on failure. */
export async function run(argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await exec(argv, opts);
  if (r.code !== 0) {
    throw new Error(`\`${argv.join(' ')}\` failed (${r.code ?? r.signal}): ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}

/**
 * Fails with a message naming what is missing when the test bed cannot run:
 * not root, or a needed program absent. Tests call it in `before()`; it never
 * skips.
 */
export function requireTestbed(programs: readonly string[] = ['ip']): void {
  if (process.getuid?.() !== 0) {
    throw new Error('namespace tests need root (CI runs as root): run the suite with sudo');
  }
  for (const p of programs) {
    const found = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin'].some((d) => existsSync(`${d}/${p}`));
    if (!found) throw new Error(`namespace tests need \`${p}\` (install it: see .ci/run)`);
  }
}

/**
 * Polls `probe` until it returns a value other than undefined/false, or
 * throws after `timeoutMs` with `what` and the last probe error.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 10_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastErr = e;
    }
    if (performance.now() >= deadline) {
      const tail = lastErr ? ` (last error: ${(lastErr as Error).message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${tail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A process started inside a namespace, with its output kept for diagnostics. */
export interface NsProcess {
  readonly child: ChildProcess;
  readonly name: string;
  /** Everything it printed so far (stdout and stderr interleaved). */
  output(): string;
  /** Resolves when it exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * A set of namespaces joined by one bridge. Create with {@link Topology.create},
 * add hosts with {@link Topology.addHost}, and always call {@link Topology.destroy}.
 */
export class Topology {
  /** The random suffix shared by this topology's namespaces. */
  readonly id: string;
  private readonly namespaces: string[] = [];
  private readonly processes: NsProcess[] = [];
  private readonly bridges = new Set<string>();
  private vethCount = 0;

  private constructor(readonly prefix: string) {
    this.id = randomBytes(3).toString('hex');
  }

  /** Creates the switch namespace. */
  static async create(prefix = 'lvsd'): Promise<Topology> {
    requireTestbed(['ip']);
    const t = new Topology(prefix);
    await t.addNamespace('sw');
    return t;
  }

  /** The kernel name of logical namespace `name`. */
  ns(name: string): string {
    return `${this.prefix}-${name}-${this.id}`;
  }

  /** Adds an empty namespace with loopback up. */
  async addNamespace(name: string): Promise<string> {
    const ns = this.ns(name);
    await run(['ip', 'netns', 'add', ns]);
    this.namespaces.push(ns);
    await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    // Deterministic IPv6 on test links: no DAD delay for our static addresses.
    await this.exec(name, ['sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
    return ns;
  }

  /** Adds bridge `bridge` (default "br0") inside the switch namespace, once. */
  async addBridge(bridge = 'br0'): Promise<void> {
    if (this.bridges.has(bridge)) return;
    const sw = this.ns('sw');
    await run(['ip', '-n', sw, 'link', 'add', bridge, 'type', 'bridge']);
    // No STP forwarding delay, and multicast flooding without snooping.
    await run(['ip', '-n', sw, 'link', 'set', bridge, 'type', 'bridge', 'forward_delay', '0', 'mcast_snooping', '0']);
    await run(['ip', '-n', sw, 'link', 'set', bridge, 'up']);
    this.bridges.add(bridge);
  }

  /**
   * Adds host namespace `name` (if new) with interface `ifname` plugged into
   * `bridge`, carrying `addresses` (CIDR strings). Returns the MAC address.
   */
  async addHost(name: string, addresses: readonly string[], opts: { ifname?: string; bridge?: string } = {}): Promise<string> {
    const ifname = opts.ifname ?? 'eth0';
    const bridge = opts.bridge ?? 'br0';
    await this.addBridge(bridge);
    const ns = this.ns(name);
    if (!this.namespaces.includes(ns)) await this.addNamespace(name);
    const sw = this.ns('sw');
    const outer = `v${this.vethCount++}${this.id}`.slice(0, 15);
    await run(['ip', '-n', sw, 'link', 'add', outer, 'type', 'veth', 'peer', 'name', ifname, 'netns', ns]);
    await run(['ip', '-n', sw, 'link', 'set', outer, 'master', bridge, 'up']);
    for (const a of addresses) {
      await run(['ip', '-n', ns, 'addr', 'add', a, 'dev', ifname, ...(a.includes(':') ? ['nodad'] : [])]);
    }
    await run(['ip', '-n', ns, 'link', 'set', ifname, 'up']);
    const link = JSON.parse(await run(['ip', '-n', ns, '-j', 'link', 'show', ifname])) as Array<{ address: string }>;
    return link[0]!.address;
  }

  /** Sets the switch-side port of a host's link down or up (a cable pull). */
  async setPort(name: string, up: boolean, ifname = 'eth0'): Promise<void> {
    await run(['ip', '-n', this.ns(name), 'link', 'set', ifname, up ? 'up' : 'down']);
  }

  /** Runs argv inside namespace `name` to completion. */
  exec(name: string, argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    return exec(['ip', 'netns', 'exec', this.ns(name), ...argv], opts);
  }

  /** Runs argv inside `name`, returning stdout; throws on failure. */
  run(name: string, argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
    return run(['ip', 'netns', 'exec', this.ns(name), ...argv], opts);
  }

  /** Starts a long-running process inside `name`; destroy() kills it. */
  spawn(name: string, argv: readonly string[], opts: SpawnOptions = {}): NsProcess {
    const child = spawn('ip', ['netns', 'exec', this.ns(name), ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal }));
      child.on('error', () => resolve({ code: -1, signal: null }));
    });
    const p: NsProcess = { child, name: `${name}:${argv[0]}`, output: () => out, exited };
    this.processes.push(p);
    return p;
  }

  /** The pids of every process running in namespace `name`. */
  async pidsOf(name: string): Promise<number[]> {
    const r = await exec(['ip', 'netns', 'pids', this.ns(name)]);
    return r.stdout.split(/\s+/).filter(Boolean).map(Number);
  }

  /** Outputs of every spawned process, for a failing test's message. */
  diagnostics(): string {
    return this.processes.map((p) => `--- ${p.name} (pid ${p.child.pid})\n${p.output().slice(-4000)}`).join('\n');
  }

  /** Kills every spawned process and deletes every namespace; safe to call twice. */
  async destroy(): Promise<void> {
    for (const p of this.processes) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    }
    await Promise.all(this.processes.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 2000))])));
    this.processes.length = 0;
    // Processes started with `ip netns exec` may have children of their own:
    // kill whatever is left in each namespace before deleting it.
    for (const ns of this.namespaces.splice(0).reverse()) {
      const pids = await exec(['ip', 'netns', 'pids', ns]);
      for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      await exec(['ip', 'netns', 'del', ns]);
    }
  }
}
