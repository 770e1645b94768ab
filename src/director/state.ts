/**
 * Operator overrides (`lvsctl drain|disable|enable VS RS`) kept across reloads
 * and restarts in `STATE_DIR/director.json`.
 *
 * The file is written atomically (temporary file in the same directory,
 * fsync, rename, fsync of the directory), so a crash leaves the old file or
 * the new one, never half of one. A missing file means "no overrides"; an
 * unreadable or malformed one is reported and treated as empty rather than
 * stopping the director (the kernel table is still governed by config and
 * health).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Override, type OverrideName } from '../reconcile/desired';

export { Override, type OverrideName } from '../reconcile/desired';

/** Overrides by real-server id (`VS/RS`). */
export type Overrides = ReadonlyMap<string, OverrideName>;

/** The state file's name under the state directory. */
export const STATE_FILE = 'director.json';

/** Thrown by {@link saveOverrides} when the file cannot be written. */
export class StateWriteError extends Error {
  /** Stable error code. */
  readonly code = 'DIRECTOR_STATE_WRITE';
  constructor(file: string, cause: Error) {
    super(`cannot write ${file}: ${cause.message}`);
    this.name = 'StateWriteError';
  }
}

/** What {@link loadOverrides} found. */
export interface LoadedOverrides {
  readonly overrides: Map<string, OverrideName>;
  /** Set when the file existed but could not be used. */
  readonly problem?: string;
}

/** Reads the overrides of `stateDir`; never throws. */
export function loadOverrides(stateDir: string): LoadedOverrides {
  const file = path.join(stateDir, STATE_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { overrides: new Map() };
    return { overrides: new Map(), problem: `cannot read ${file}: ${(e as Error).message}` };
  }
  try {
    const doc = JSON.parse(text) as { version?: unknown; overrides?: unknown };
    if (doc.version !== 1 || typeof doc.overrides !== 'object' || doc.overrides === null) {
      return { overrides: new Map(), problem: `${file}: not a version 1 director state file` };
    }
    const out = new Map<string, OverrideName>();
    for (const [k, v] of Object.entries(doc.overrides as Record<string, unknown>)) {
      if ((v === Override.DRAIN || v === Override.DISABLE) && k.includes('/')) out.set(k, v);
    }
    return { overrides: out };
  } catch (e) {
    return { overrides: new Map(), problem: `${file}: ${(e as Error).message}` };
  }
}

/** Writes the overrides atomically; throws {@link StateWriteError}. Creates the directory if needed. */
export function saveOverrides(stateDir: string, overrides: Overrides): void {
  const file = path.join(stateDir, STATE_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  const doc = { version: 1, overrides: Object.fromEntries([...overrides].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
  try {
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o755 });
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      fs.writeSync(fd, JSON.stringify(doc, null, 2) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    // The rename is durable only once the directory entry is on disk.
    const dfd = fs.openSync(stateDir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* not created */
    }
    throw new StateWriteError(file, e as Error);
  }
}
