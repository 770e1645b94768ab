/**
 * What the loader may ask about this machine. The configuration is judged as
 * a file, so whatever this says only ever produces warnings; tests inject a
 * fake to stay deterministic.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Questions about the host, answered synchronously. */
export interface HostProbe {
  /** Whether a network interface of this name exists here. */
  interfaceExists(name: string): boolean;
  /**
   * Whether `program` (argv[0]: a path, or a bare name looked up in PATH as
   * execFile would) is an executable regular file here.
   */
  programRunnable(program: string): boolean;
  /**
   * Whether this process can start a script as `uid`:`gid` and stop it at its
   * timeout: it already runs as that user and group, or it holds CAP_SETUID,
   * CAP_SETGID and CAP_KILL (root does, unless a systemd
   * CapabilityBoundingSet leaves them out).
   */
  mayRunAs(uid: number, gid: number): boolean;
}

/** Capability bits (linux/capability.h) a script_user needs. */
const CAP_KILL = 5;
const CAP_SETGID = 6;
const CAP_SETUID = 7;

/** The effective capability set from /proc/self/status text ("CapEff:\t<hex>"), or undefined. */
export function effectiveCaps(status: string): bigint | undefined {
  const m = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

/** Whether `caps` holds what switching a child to another user, and killing it, takes. */
export function capsAllowRunAs(caps: bigint): boolean {
  return [CAP_KILL, CAP_SETGID, CAP_SETUID].every((c) => (caps >> BigInt(c)) & 1n);
}

function isExecutableFile(p: string): boolean {
  try {
    if (!fs.statSync(p).isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The real host: `/sys/class/net/NAME` and the file system. */
export const realHost: HostProbe = {
  interfaceExists(name: string): boolean {
    if (name.includes('/') || name === '.' || name === '..') return false;
    return fs.existsSync(path.join('/sys/class/net', name));
  },
  programRunnable(program: string): boolean {
    if (program.includes('/')) return isExecutableFile(program);
    return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin')
      .split(':')
      .filter(Boolean)
      .some((dir) => isExecutableFile(path.join(dir, program)));
  },
  mayRunAs(uid: number, gid: number): boolean {
    if (process.getuid?.() === uid && process.getgid?.() === gid) return true;
    let status: string;
    try {
      status = fs.readFileSync('/proc/self/status', 'utf8');
    } catch {
      return true; // cannot tell: say nothing rather than something wrong
    }
    const caps = effectiveCaps(status);
    return caps === undefined || capsAllowRunAs(caps);
  },
};

/** A fake host that knows exactly the given interfaces and programs, and may run scripts as anyone unless `mayRunAs` is false. */
export function fakeHost(interfaces: Iterable<string>, programs: Iterable<string>, mayRunAs = true): HostProbe {
  const ifs = new Set(interfaces);
  const progs = new Set(programs);
  return { interfaceExists: (n) => ifs.has(n), programRunnable: (p) => progs.has(p), mayRunAs: () => mayRunAs };
}
