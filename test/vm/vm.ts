/**
 * The VM test bed: boots Debian's generic kernel (which has IPVS and ipip, unlike the host's)
 * under qemu's software emulation and runs a shell script as root inside it.
 *
 * The guest sees the host's whole filesystem read-only (9p) under a tmpfs overlay, so
 * node, ipvsadm, keepalived, busybox and this checkout's build are all there, at the same
 * paths; writes stay in the guest. The guest's /tmp, /run, /dev, /proc and /sys are its
 * own; the host's /tmp is seen at {@link GUEST_HOST_TMP} instead (so a checkout cloned
 * under /tmp works: {@link guestPathOf} maps the paths handed to the guest). Scripts under
 * the host's /run, /dev, /proc or /sys cannot be run. The VM has no network (`-nic none`):
 * traffic stays between the namespaces the script makes.
 *
 * A boot costs about 4 s and a first `node` start about 4 s under emulation, so put several
 * scenarios in one boot with {@link runScenariosInVm} rather than booting per test.
 * Scenario scripts live in test/vm/scenarios/<name>.sh.
 *
 * Failures never pass silently: no boot, no marker line, a timeout or a missing tool all
 * reject with a {@link VmError} whose message says why and ends with the console's tail.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ensureVmAssets, initramfsSourceDir, VmAssets } from './assets';
import { Marker, parseConsole, ScenarioResult, splitScenarios } from './console';
import { VmError, VmErrorCode } from './errors';

export { ensureVmAssets, VmAssets } from './assets';
export { ScenarioResult } from './console';
export { VmError, VmErrorCode } from './errors';

/** Options of {@link runInVm}. */
export interface RunInVmOptions {
  /** Path of a shell script on the host fs (not under /run, /dev, /proc or /sys; one under /tmp is reached at GUEST_HOST_TMP), run as root in the guest; executable scripts run by their #! line, others with /bin/sh. */
  readonly script: string;
  /** Hard limit for the whole run, boot included; qemu is killed when it expires. Default 180 000. */
  readonly timeoutMs?: number;
  /** Guest memory in MiB. Default 2048. */
  readonly memMb?: number;
  /** Guest CPUs. Default 2. */
  readonly smp?: number;
  /** Extra environment for the script (names must be shell identifiers). */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory of the script in the guest; default the host process's cwd (falls back to / if the guest cannot enter it). */
  readonly cwd?: string;
  /** Called with each chunk of serial console output as it arrives (for live progress). */
  readonly onConsole?: (chunk: string) => void;
}

/** Outcome of a VM run whose script ran to its end (whatever its exit status). */
export interface VmRunResult {
  /** The script's exit status in the guest. */
  readonly exitCode: number;
  /** The script's stdout and stderr, interleaved as the console showed them. */
  readonly output: string;
  /** Milliseconds from starting qemu to the script starting in the guest. */
  readonly bootMs: number;
  /** Milliseconds from starting qemu to qemu exiting. */
  readonly totalMs: number;
  /** The whole serial console transcript (kernel messages, init warnings, markers). */
  readonly console: string;
  /** The guest kernel's release. */
  readonly kernelVersion: string;
}

/** Options of {@link runScenariosInVm}: those of runInVm without `script`, plus a per-scenario limit. */
export interface RunScenariosOptions extends Omit<RunInVmOptions, 'script'> {
  /** Limit for each scenario inside the guest (coreutils timeout; exit 124 when hit). Default 120. */
  readonly scenarioTimeoutS?: number;
}

/** Outcome of {@link runScenariosInVm}: the run, plus each scenario's part. */
export interface ScenariosRunResult extends VmRunResult {
  /** Each scenario in the order run; exitCode null when the run died inside it. */
  readonly scenarios: readonly ScenarioResult[];
}

/** Directories the guest mounts its own filesystems on: a host path under them is invisible there. */
const GUEST_SHADOWED = ['/run', '/var/run', '/proc', '/sys', '/dev'];

/**
 * Where the guest sees the host's /tmp: the initramfs's init binds it there before it
 * mounts the guest's own tmpfs on /tmp (test/vm/initramfs/init; a test keeps the two equal).
 */
export const GUEST_HOST_TMP = '/lvsd-host/tmp';

/**
 * The path at which the guest sees host path `real` (absolute, symlinks resolved): the
 * same path, except under /tmp, which the guest sees under {@link GUEST_HOST_TMP}.
 * Throws a VmError (BadOptions) for a path under a directory the guest shadows with no
 * way back (/run, /dev, /proc, /sys).
 */
export function guestPathOf(real: string, what = 'path'): string {
  const under = (dir: string): boolean => real === dir || real.startsWith(`${dir}/`);
  if (under('/tmp')) return `${GUEST_HOST_TMP}${real.slice('/tmp'.length)}`;
  for (const dir of GUEST_SHADOWED) {
    if (under(dir)) throw new VmError(VmErrorCode.BadOptions, `${what} ${real} is under ${dir}, which the guest mounts its own filesystem on; put it in the checkout, /tmp or /var/tmp`);
  }
  return real;
}

/** `guestPathOf`, or the path unchanged when the guest cannot see it (for best-effort uses: cwd, PATH). */
function guestPathOrSame(p: string): string {
  try {
    return guestPathOf(p);
  } catch {
    return p;
  }
}

const DEFAULT_TIMEOUT_MS = 180_000;
/** How long qemu may take to power off after the exit marker before it is killed. */
const POWEROFF_GRACE_MS = 15_000;

/** Single-quotes a string for sh. */
function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Resolves a host path the guest must read to the path the guest reads it at; rejects paths the guest cannot see. */
export async function guestVisible(p: string, what: string): Promise<string> {
  const abs = path.resolve(p);
  let real: string;
  try {
    real = await fs.realpath(abs);
    await fs.access(real);
  } catch {
    throw new VmError(VmErrorCode.BadOptions, `${what} ${abs} does not exist on the host`);
  }
  return guestPathOf(real, what);
}

/** The directory of the scenario scripts in the source tree (test/vm/scenarios). */
export function scenariosDir(): string {
  return path.join(path.dirname(initramfsSourceDir()), 'scenarios');
}

/** Path of a scenario: a bare name means test/vm/scenarios/<name>.sh, anything with a slash is a path. */
export function scenarioPath(nameOrPath: string): string {
  if (nameOrPath.includes('/')) return path.resolve(nameOrPath);
  return path.join(scenariosDir(), nameOrPath.endsWith('.sh') ? nameOrPath : `${nameOrPath}.sh`);
}

/** Lines that run a script the way runInVm documents: by its #! line when executable, else with /bin/sh. */
function execLine(script: string, prefix = 'exec'): string {
  return `if [ -x ${shq(script)} ]; then ${prefix} ${shq(script)}; else ${prefix} /bin/sh ${shq(script)}; fi`;
}

/** Run directories older than this are left-overs of a killed host process. */
const STALE_RUN_DIR_MS = 6 * 3600_000;

/** A fresh per-run directory on the host fs (visible to the guest) under the cache; sweeps stale ones. */
async function makeRunDir(assets: VmAssets): Promise<string> {
  const runs = path.join(assets.cacheDir, 'runs');
  const now = Date.now();
  for (const name of await fs.readdir(runs).catch(() => [] as string[])) {
    const born = Number(name.split('-')[0]);
    if (Number.isFinite(born) && now - born > STALE_RUN_DIR_MS) await fs.rm(path.join(runs, name), { recursive: true, force: true });
  }
  const dir = path.join(runs, `${now}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

/** The guest-side entry script: environment, cwd, then the user's script. */
function entryScript(opts: RunInVmOptions, script: string, assets: VmAssets, body?: string): string {
  const env: Record<string, string> = {
    PATH: [...new Set(`${process.env.PATH ?? ''}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`.split(':').filter((d) => d !== '').map((d) => (path.isAbsolute(d) ? guestPathOrSame(d) : d)))].join(':'),
    HOME: '/root',
    LVSD_VM: '1',
    LVSD_VM_KERNEL: assets.kernelVersion,
    ...opts.env,
  };
  const lines = ['#!/bin/sh', '# Written by test/vm/vm.ts for one VM run; deleted after it.'];
  for (const [k, v] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new VmError(VmErrorCode.BadOptions, `env name ${JSON.stringify(k)} is not a shell identifier`);
    lines.push(`export ${k}=${shq(v)}`);
  }
  lines.push(`cd ${shq(guestPathOrSame(path.resolve(opts.cwd ?? process.cwd())))} 2>/dev/null || cd /`);
  lines.push(body ?? execLine(script));
  return `${lines.join('\n')}\n`;
}

/** qemu's command line for one run. */
function qemuArgs(assets: VmAssets, entry: string, opts: RunInVmOptions): string[] {
  const append = [
    'console=ttyS0', 'quiet', 'panic=-1',
    // A throw-away test guest: without the Spectre/Meltdown work-arounds, each syscall and
    // exec costs about half as much under emulation (page-table switches flush TCG's TLB).
    'mitigations=off',
    `lvsd.run=${guestPathOf(entry, 'the run directory (LVSD_VM_CACHE)')}`, `lvsd.moddir=${guestPathOf(assets.moduleDir, 'the kernel modules (LVSD_VM_CACHE)')}`,
  ].join(' ');
  return [
    '-accel', 'tcg,thread=multi', '-cpu', 'max',
    '-m', String(opts.memMb ?? 2048), '-smp', String(opts.smp ?? 2),
    '-nographic', '-no-reboot', '-nic', 'none',
    '-kernel', assets.kernel, '-initrd', assets.initrd, '-append', append,
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
  ];
}

/** Boots once, runs the entry script, resolves when qemu exits with the run's transcript. */
function boot(assets: VmAssets, entry: string, opts: RunInVmOptions): Promise<VmRunResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise<VmRunResult>((resolve, reject) => {
    const started = process.hrtime.bigint();
    const elapsed = (): number => Number((process.hrtime.bigint() - started) / 1_000_000n);
    let consoleText = '';
    let stderr = '';
    let bootMs: number | null = null;
    let exitSeenAt: number | null = null;
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;

    const child = spawn(assets.qemu, qemuArgs(assets, entry, opts), { stdio: ['ignore', 'pipe', 'pipe'] });
    const killOnExit = (): void => { child.kill('SIGKILL'); };
    process.on('exit', killOnExit);

    const finish = (err: VmError | null, result?: VmRunResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(hardTimer);
      clearTimeout(graceTimer);
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (err !== null) reject(err);
      else resolve(result as VmRunResult);
    };

    const hardTimer = setTimeout(() => {
      const phase = bootMs === null ? 'before the guest started the script' : `${elapsed() - bootMs} ms into the script`;
      finish(new VmError(VmErrorCode.Timeout, `VM run exceeded ${timeoutMs} ms (${phase}); qemu killed`, consoleText));
    }, timeoutMs);

    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      consoleText += chunk;
      opts.onConsole?.(chunk);
      if (bootMs === null && /(^|\n)@@LVSD-VM-BEGIN@@\r?\n/.test(consoleText)) bootMs = elapsed();
      if (exitSeenAt === null && bootMs !== null && /\n@@LVSD-VM-EXIT \d+@@\r?\n/.test(consoleText)) {
        exitSeenAt = elapsed();
        // stage2.sh powers off right after the marker; do not wait long for it.
        graceTimer = setTimeout(() => child.kill('SIGKILL'), POWEROFF_GRACE_MS);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => { stderr += chunk; });

    child.on('error', (err) => {
      finish(new VmError(VmErrorCode.SpawnFailed, `cannot start ${assets.qemu}: ${err.message}`, consoleText));
    });
    child.on('close', (code, signal) => {
      const totalMs = elapsed();
      const parsed = parseConsole(consoleText);
      const how = `qemu exited with ${signal ?? `status ${code}`}${stderr.trim() === '' ? '' : `; qemu stderr: ${stderr.trim()}`}`;
      if (parsed.initError !== null) {
        finish(new VmError(VmErrorCode.InitFailed, `guest init failed: ${parsed.initError} (${how})`, consoleText));
      } else if (!parsed.begun) {
        finish(new VmError(VmErrorCode.NoBoot, `the guest never started the script (${how})`, consoleText));
      } else if (parsed.exitCode === null) {
        finish(new VmError(VmErrorCode.NoExitMarker, `the script started but no exit-status marker line followed (${how})`, consoleText));
      } else {
        finish(null, {
          exitCode: parsed.exitCode,
          output: parsed.output,
          bootMs: bootMs ?? totalMs,
          totalMs,
          console: consoleText,
          kernelVersion: assets.kernelVersion,
        });
      }
    });
  });
}

/**
 * Boots the IPVS-capable kernel once and runs `opts.script` as root inside it.
 * Resolves once the script returned and the VM powered off, whatever the script's status
 * (check `exitCode`). Rejects with a VmError when the VM could not run the script to its
 * end: assets unavailable, qemu failing, no boot, no exit marker, or `timeoutMs` expired.
 * Ensures the assets first (see ensureVmAssets). The script must be on the host fs outside
 * /run, /dev, /proc and /sys (the guest has its own there); see {@link guestPathOf}.
 */
export async function runInVm(opts: RunInVmOptions): Promise<VmRunResult> {
  const script = await guestVisible(opts.script, 'script');
  const assets = await ensureVmAssets();
  const runDir = await makeRunDir(assets);
  try {
    const entry = path.join(runDir, 'run.sh');
    await fs.writeFile(entry, entryScript(opts, script, assets), { mode: 0o755 });
    return await boot(assets, entry, opts);
  } finally {
    await fs.rm(runDir, { recursive: true, force: true });
  }
}

/**
 * Runs several scenario scripts in a single boot, one after the other, each framed by
 * marker lines so its output and status come back apart (see ScenarioResult). A scenario
 * is a bare name (test/vm/scenarios/<name>.sh) or a path. Scenarios share the guest's
 * kernel: each must clean up what it made (namespaces, links, IPVS rules in its own
 * namespaces). All scenarios run even when one fails; the run's exitCode is 0 only when
 * every scenario exited 0. Rejects as runInVm does.
 */
export async function runScenariosInVm(scenarios: readonly string[], opts: RunScenariosOptions = {}): Promise<ScenariosRunResult> {
  if (scenarios.length === 0) throw new VmError(VmErrorCode.BadOptions, 'no scenario given');
  const names = new Set<string>();
  const entries: Array<{ name: string; file: string }> = [];
  for (const s of scenarios) {
    const file = await guestVisible(scenarioPath(s), 'scenario');
    const name = path.basename(file).replace(/\.sh$/, '');
    if (names.has(name)) throw new VmError(VmErrorCode.BadOptions, `scenario ${name} given twice`);
    names.add(name);
    entries.push({ name, file });
  }
  const limit = opts.scenarioTimeoutS ?? 120;
  const body = [
    'status=0',
    ...entries.flatMap(({ name, file }) => [
      `echo ${shq(`${Marker.scenarioBegin} ${name}@@`)}`,
      'start=$(date +%s%3N)',
      `( ${execLine(file, `exec timeout -k 5 ${limit}`)} )`,
      'st=$?',
      'end=$(date +%s%3N)',
      // The empty line first ends an unterminated last line; splitScenarios drops it.
      `printf '\\n%s %s %d %d@@\\n' ${shq(Marker.scenarioEnd)} ${shq(name)} "$st" "$((end - start))"`,
      '[ "$st" -eq 0 ] || status=1',
    ]),
    'exit "$status"',
  ].join('\n');
  const assets = await ensureVmAssets();
  const runDir = await makeRunDir(assets);
  try {
    const entry = path.join(runDir, 'run.sh');
    await fs.writeFile(entry, entryScript({ ...opts, script: entry }, entry, assets, body), { mode: 0o755 });
    const result = await boot(assets, entry, { ...opts, script: entry });
    return { ...result, scenarios: splitScenarios(result.output) };
  } finally {
    await fs.rm(runDir, { recursive: true, force: true });
  }
}

