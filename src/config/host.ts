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
};

/** A fake host that knows exactly the given interfaces and programs. */
export function fakeHost(interfaces: Iterable<string>, programs: Iterable<string>): HostProbe {
  const ifs = new Set(interfaces);
  const progs = new Set(programs);
  return { interfaceExists: (n) => ifs.has(n), programRunnable: (p) => progs.has(p) };
}
