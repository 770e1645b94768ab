/**
 * What the VM test bed needs on the host, installed and cached on first use:
 * host tools from Debian (apt-get), Debian's generic amd64 kernel unpacked with its modules,
 * and a busybox initramfs that loads the modules IPVS tests need.
 *
 * Cache: `/var/cache/lvsd-vm/` (override with LVSD_VM_CACHE), outside git, kept between runs:
 *   <kver>/vmlinuz                    the kernel
 *   <kver>/root/lib/modules/<kver>/   its modules, depmod'ed (the guest sees them as /lib/modules/<kver>)
 *   <kver>/initrd-<hash>.gz           the initramfs; <hash> covers init, stage2.sh, the module
 *                                     list and this generator's code, so editing any of them rebuilds it
 *   runs/<id>/                        per-run wrapper scripts (deleted after the run)
 * The first run downloads about 70 MB (kernel) plus the host packages; later runs only read.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { VmError, VmErrorCode } from './errors';

/** Paths and facts the VM runner needs; all files exist when ensureVmAssets resolves. */
export interface VmAssets {
  /** Cache root, e.g. /var/cache/lvsd-vm. */
  readonly cacheDir: string;
  /** Kernel release, e.g. 6.1.0-56-amd64 (also `uname -r` in the guest). */
  readonly kernelVersion: string;
  /** Path of the kernel image. */
  readonly kernel: string;
  /** Path of the gzip'ed initramfs. */
  readonly initrd: string;
  /** Host directory holding the kernel's modules (mounted as /lib/modules/<kver> in the guest). */
  readonly moduleDir: string;
  /** Absolute path of qemu-system-x86_64. */
  readonly qemu: string;
  /** Modules the initramfs insmods, in load order, relative to moduleDir. */
  readonly modules: readonly string[];
}

/** Modules the guest cannot work without; a missing one is an error. Order matters: 9p and overlay mount the root. */
export const REQUIRED_MODULES = [
  'virtio_pci', '9pnet_virtio', '9p', 'overlay',
  'nf_conntrack', 'ip_vs', 'ip_vs_rr',
  'veth', 'bridge', 'tunnel4', 'ip_tunnel', 'ipip', 'dummy',
] as const;

/** IPVS schedulers loaded when the kernel has them (twos is newer than Debian 12's 6.1). ip_vs_ftp is not needed. */
export const OPTIONAL_MODULES = [
  'ip_vs_wrr', 'ip_vs_lc', 'ip_vs_wlc', 'ip_vs_lblc', 'ip_vs_lblcr', 'ip_vs_dh', 'ip_vs_sh',
  'ip_vs_sed', 'ip_vs_nq', 'ip_vs_mh', 'ip_vs_fo', 'ip_vs_ovf', 'ip_vs_twos',
] as const;

/** Host commands and the Debian package providing each. */
const TOOLS: ReadonlyArray<readonly [command: string, pkg: string]> = [
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['cpio', 'cpio'],
  ['depmod', 'kmod'],
  ['modprobe', 'kmod'],
  ['ipvsadm', 'ipvsadm'],
  ['gzip', 'gzip'],
];

/** Default cache root. */
export const DEFAULT_CACHE_DIR = '/var/cache/lvsd-vm';

/** The cache root in use: LVSD_VM_CACHE or /var/cache/lvsd-vm. */
export function cacheDir(): string {
  return process.env.LVSD_VM_CACHE ?? DEFAULT_CACHE_DIR;
}

interface RunResult { stdout: string; stderr: string }

/** Runs a command; rejects with its stderr in the message on a non-zero exit. */
function run(cmd: string, args: string[], opts: { cwd?: string; maxBuffer?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, maxBuffer: opts.maxBuffer ?? 64 * 1024 * 1024, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } },
      (err, stdout, stderr) => {
        if (err) reject(Object.assign(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`), { stderr }));
        else resolve({ stdout, stderr });
      });
  });
}

/** Absolute path of a command found on PATH (plus the sbin dirs), or null. */
export function which(command: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

async function packageInstalled(pkg: string): Promise<boolean> {
  try {
    const { stdout } = await run('dpkg-query', ['-W', '-f=${Status}', pkg]);
    return stdout.includes('install ok installed');
  } catch {
    return false;
  }
}

let aptUpdated = false;

/** apt-get install; on failure runs apt-get update once and tries again. */
async function aptInstall(pkgs: string[]): Promise<void> {
  const install = (): Promise<RunResult> => run('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs]);
  try {
    await install();
  } catch (first) {
    if (aptUpdated) throw first;
    await run('apt-get', ['update']);
    aptUpdated = true;
    await install();
  }
}

/** Installs the missing host tools (and busybox-static, whose binary goes into the initramfs). */
async function ensureTools(): Promise<void> {
  const missing = new Set<string>();
  for (const [command, pkg] of TOOLS) if (which(command) === null) missing.add(pkg);
  // The guest's scenarios run busybox httpd/wget from the host fs, and the initramfs needs
  // a static busybox: the dynamic one would need the host's libc inside the initramfs.
  if (!(await packageInstalled('busybox-static'))) missing.add('busybox-static');
  if (missing.size === 0) return;
  try {
    await aptInstall([...missing]);
  } catch (err) {
    throw new VmError(VmErrorCode.ToolMissing, `cannot install ${[...missing].join(', ')} with apt-get: ${(err as Error).message}`);
  }
  for (const [command, pkg] of TOOLS) {
    if (which(command) === null) throw new VmError(VmErrorCode.ToolMissing, `${command} still missing after installing ${pkg}`);
  }
}

/** Parses `apt-cache depends linux-image-amd64` for the generic kernel release it depends on. */
export function parseKernelDepends(text: string): string | null {
  for (const m of text.matchAll(/Depends:\s+linux-image-(\S+)/g)) {
    // Generic flavour only: -cloud- kernels have no 9p filesystem.
    if (!m[1].includes('cloud') && /^\d+\.\d+\.\d+-\d+-amd64$/.test(m[1])) return m[1];
  }
  return null;
}

/** Kernel releases already unpacked in the cache, newest first. */
async function cachedKernels(root: string): Promise<string[]> {
  let names: string[] = [];
  try {
    names = await fs.readdir(root);
  } catch {
    return [];
  }
  const ok = names.filter((n) => /^\d+\.\d+\.\d+-\d+-amd64$/.test(n) && existsSync(path.join(root, n, 'vmlinuz')));
  return ok.sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
}

/** The kernel release to use: the one Debian's linux-image-amd64 depends on now, else the newest cached one. */
async function currentKernelVersion(root: string): Promise<string> {
  const ask = async (): Promise<string | null> => {
    try {
      return parseKernelDepends((await run('apt-cache', ['depends', 'linux-image-amd64'])).stdout);
    } catch {
      return null;
    }
  };
  let ver = await ask();
  if (ver === null && !aptUpdated) {
    const cached = await cachedKernels(root);
    if (cached.length > 0) return cached[0];
    await run('apt-get', ['update']).catch(() => undefined);
    aptUpdated = true;
    ver = await ask();
  }
  if (ver === null) {
    throw new VmError(VmErrorCode.KernelUnavailable, 'apt-cache depends linux-image-amd64 names no generic kernel (apt lists missing or no network?)');
  }
  return ver;
}

/** Downloads, unpacks and depmods the kernel into <root>/<ver> unless already there. */
async function ensureKernel(root: string, ver: string): Promise<string> {
  const dir = path.join(root, ver);
  if (existsSync(path.join(dir, 'vmlinuz')) && existsSync(path.join(dir, 'root/lib/modules', ver, 'modules.dep'))) return dir;
  const tmp = path.join(root, `.tmp-${ver}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(tmp, { recursive: true });
  try {
    const pkg = `linux-image-${ver}`;
    try {
      await run('apt-get', ['download', pkg], { cwd: tmp });
    } catch {
      await run('apt-get', ['update']);
      aptUpdated = true;
      await run('apt-get', ['download', pkg], { cwd: tmp });
    }
    const deb = (await fs.readdir(tmp)).find((n) => n.endsWith('.deb'));
    if (deb === undefined) throw new Error(`apt-get download ${pkg} produced no .deb`);
    await run('dpkg', ['-x', path.join(tmp, deb), path.join(tmp, 'root')]);
    await fs.rm(path.join(tmp, deb));
    await fs.rm(path.join(tmp, 'root/usr'), { recursive: true, force: true });
    await run('depmod', ['-b', path.join(tmp, 'root'), ver]);
    await fs.rename(path.join(tmp, 'root/boot', `vmlinuz-${ver}`), path.join(tmp, 'vmlinuz'));
    try {
      await fs.rename(tmp, dir);
    } catch (err) {
      // Another process finished first: use its copy.
      if (!existsSync(path.join(dir, 'vmlinuz'))) throw err;
      await fs.rm(tmp, { recursive: true, force: true });
    }
    return dir;
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    if (err instanceof VmError) throw err;
    throw new VmError(VmErrorCode.KernelUnavailable, `cannot fetch kernel ${ver}: ${(err as Error).message}`);
  }
}

/**
 * Parses `modprobe --show-depends` output into [path, args] pairs; `builtin` lines are
 * dropped (nothing to load).
 */
export function parseShowDepends(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.split('\n')) {
    const m = /^insmod (\S+)\s*(.*)$/.exec(line.trim());
    if (m !== null) out.push([m[1], m[2].trim()]);
  }
  return out;
}

/** The initramfs load list: each wanted module after its dependencies, each once. */
async function moduleLoadList(rootDir: string, ver: string): Promise<string[]> {
  const modDir = path.join(rootDir, 'lib/modules', ver);
  const seen = new Set<string>();
  const list: string[] = [];
  const add = async (mod: string, required: boolean): Promise<void> => {
    let text: string;
    try {
      text = (await run('modprobe', ['-d', rootDir, '-S', ver, '--show-depends', mod])).stdout;
    } catch (err) {
      if (!required) return;
      throw new VmError(VmErrorCode.InitramfsFailed, `kernel ${ver} has no module ${mod}: ${(err as Error).message}`);
    }
    for (const [file, args] of parseShowDepends(text)) {
      const rel = path.relative(modDir, file);
      if (seen.has(rel)) continue;
      seen.add(rel);
      list.push(args === '' ? rel : `${rel} ${args}`);
    }
  };
  for (const mod of REQUIRED_MODULES) await add(mod, true);
  for (const mod of OPTIONAL_MODULES) await add(mod, false);
  return list;
}

/** Directory holding init and stage2.sh in the source tree (found from dist/ or test/). */
export function initramfsSourceDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'test/vm/initramfs');
    if (existsSync(path.join(candidate, 'init'))) return candidate;
    if (existsSync(path.join(dir, 'initramfs/init')) && path.basename(dir) === 'vm') return path.join(dir, 'initramfs');
    dir = path.dirname(dir);
  }
  throw new VmError(VmErrorCode.InitramfsFailed, `test/vm/initramfs/init not found above ${__dirname}`);
}

/** Builds (or reuses) the initramfs for this kernel; returns its path and module list. */
async function ensureInitramfs(kdir: string, ver: string): Promise<{ initrd: string; modules: string[] }> {
  const rootDir = path.join(kdir, 'root');
  const src = initramfsSourceDir();
  const init = readFileSync(path.join(src, 'init'));
  const stage2 = readFileSync(path.join(src, 'stage2.sh'));
  const busybox = which('busybox') ?? '/bin/busybox';
  const modules = await moduleLoadList(rootDir, ver);
  const listText = `${modules.join('\n')}\n`;
  const hash = createHash('sha256')
    .update(init).update('\0').update(stage2).update('\0').update(listText).update('\0')
    .update(readFileSync(__filename)).update('\0').update(busybox)
    .digest('hex').slice(0, 16);
  const initrd = path.join(kdir, `initrd-${hash}.gz`);
  if (existsSync(initrd)) return { initrd, modules };

  const stage = path.join(kdir, `.initramfs-${randomBytes(4).toString('hex')}`);
  try {
    for (const d of ['bin', 'proc', 'sys', 'dev', 'lib/modules']) await fs.mkdir(path.join(stage, d), { recursive: true });
    await fs.copyFile(busybox, path.join(stage, 'bin/busybox'));
    await fs.chmod(path.join(stage, 'bin/busybox'), 0o755);
    await fs.writeFile(path.join(stage, 'init'), init, { mode: 0o755 });
    await fs.writeFile(path.join(stage, 'stage2.sh'), stage2, { mode: 0o755 });
    await fs.writeFile(path.join(stage, 'modules.list'), listText);
    for (const entry of modules) {
      const rel = entry.split(' ')[0];
      await fs.mkdir(path.join(stage, 'lib/modules', path.dirname(rel)), { recursive: true });
      await fs.copyFile(path.join(rootDir, 'lib/modules', ver, rel), path.join(stage, 'lib/modules', rel));
    }
    const tmpOut = `${initrd}.${randomBytes(4).toString('hex')}.tmp`;
    await run('sh', ['-c', `find . -print0 | cpio --null -o -H newc --quiet -R 0:0 | gzip -1 > '${tmpOut}'`], { cwd: stage });
    await fs.rename(tmpOut, initrd);
    // Older initramfs images of this kernel are stale now; a running qemu keeps its open copy.
    for (const n of await fs.readdir(kdir)) {
      if (/^initrd-[0-9a-f]+\.gz$/.test(n) && path.join(kdir, n) !== initrd) await fs.rm(path.join(kdir, n), { force: true });
    }
    return { initrd, modules };
  } catch (err) {
    if (err instanceof VmError) throw err;
    throw new VmError(VmErrorCode.InitramfsFailed, `cannot build the initramfs: ${(err as Error).message}`);
  } finally {
    await fs.rm(stage, { recursive: true, force: true });
  }
}

let pending: Promise<VmAssets> | null = null;

/**
 * Makes sure everything a VM boot needs is on this machine and returns where it is.
 * Installs missing host packages with apt-get (apt-get update first only if needed),
 * fetches Debian's current generic kernel (`apt-cache depends linux-image-amd64`, then
 * `apt-get download`, `dpkg -x`, `depmod`), and builds the initramfs, all cached under
 * {@link cacheDir}. Memoized per process; rejects with a VmError saying what is missing.
 */
export function ensureVmAssets(): Promise<VmAssets> {
  if (pending === null) {
    pending = buildAssets();
    pending.catch(() => { pending = null; });
  }
  return pending;
}

async function buildAssets(): Promise<VmAssets> {
  const root = cacheDir();
  await fs.mkdir(root, { recursive: true });
  await ensureTools();
  const qemu = which('qemu-system-x86_64');
  if (qemu === null) throw new VmError(VmErrorCode.ToolMissing, 'qemu-system-x86_64 not found after installing qemu-system-x86');
  const ver = await currentKernelVersion(root);
  const kdir = await ensureKernel(root, ver);
  const { initrd, modules } = await ensureInitramfs(kdir, ver);
  return {
    cacheDir: root,
    kernelVersion: ver,
    kernel: path.join(kdir, 'vmlinuz'),
    initrd,
    moduleDir: path.join(kdir, 'root/lib/modules', ver),
    qemu,
    modules,
  };
}
