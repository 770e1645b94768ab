/**
 * Kernel sysctls read and written through /proc/sys (per network namespace:
 * the IPVS ones exist once ip_vs is loaded). Behind a narrow interface with
 * an in-memory fake, as the other kernel parts.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/** Reads and writes sysctls by dotted name (`net.ipv4.vs.sloppy_tcp`). */
export interface Sysctls {
  /** The value, trimmed; undefined when the sysctl does not exist (its module is not loaded). */
  read(name: string): Promise<string | undefined>;
  /** Writes a value; rejects with the errno error (ENOENT when it does not exist, EACCES, EROFS ...). */
  write(name: string, value: string): Promise<void>;
}

/** A dotted name → its file under `root`; refuses names that could leave it. */
export function sysctlPath(root: string, name: string): string {
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(name)) throw new Error(`"${name}" is not a sysctl name`);
  return path.join(root, ...name.split('.'));
}

/** The kernel's, through /proc/sys (or another root, for tests). */
export class ProcSysctls implements Sysctls {
  constructor(private readonly root = '/proc/sys') {}

  async read(name: string): Promise<string | undefined> {
    try {
      return (await fsp.readFile(sysctlPath(this.root, name), 'utf8')).trim();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async write(name: string, value: string): Promise<void> {
    // No O_CREAT: a sysctl that does not exist is ENOENT, never a new file.
    const fh = await fsp.open(sysctlPath(this.root, name), 'r+');
    try {
      await fh.write(`${value}\n`);
    } finally {
      await fh.close();
    }
  }
}

/** In memory (dry run, tests): a name absent from `values` does not exist. */
export class FakeSysctls implements Sysctls {
  readonly values: Map<string, string>;
  constructor(values: Record<string, string> = {}) {
    this.values = new Map(Object.entries(values));
  }
  async read(name: string): Promise<string | undefined> {
    return this.values.get(name);
  }
  async write(name: string, value: string): Promise<void> {
    if (!this.values.has(name)) throw Object.assign(new Error(`ENOENT: no sysctl ${name}`), { code: 'ENOENT' });
    this.values.set(name, value);
  }
}
