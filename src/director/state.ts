/**
 * The director's durable state in `STATE_DIR/director.json`: operator
 * overrides (`lvsctl drain|disable|enable VS RS`) kept across reloads and
 * restarts, the IPVS service keys lvsd owns, and the last known health of
 * the real servers whose health differs from how they would start (down, or
 * up under `alpha`, or with a dynamic weight), with the kernel's boot id: a
 * restarted director (a crash of its process, `systemctl restart`) starts
 * from that health instead of putting servers known down back into the
 * table; after a reboot (another boot id: the kernel table is gone too) it is
 * ignored and every server starts as configured.
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

/** Thrown by {@link saveState} when the file cannot be written. */
export class StateWriteError extends Error {
  /** Stable error code. */
  readonly code = 'DIRECTOR_STATE_WRITE';
  constructor(file: string, cause: Error) {
    super(`cannot write ${file}: ${cause.message}`);
    this.name = 'StateWriteError';
  }
}

/** What the director keeps on disk. */
export interface DirectorState {
  /** Operator overrides by real-server id `VS/RS`. */
  readonly overrides: Map<string, OverrideName>;
  /**
   * Service key ids (serviceKeyId) lvsd made or adopted: after a restart with
   * a configuration that lost a virtual server, its service is still known
   * as lvsd's and is deleted, while foreign services stay untouched.
   */
  readonly managed: string[];
  /** Last known health by real-server id, of the servers not in their starting state. */
  readonly health: Map<string, StoredHealth>;
}

/** A real server's health as kept on disk. */
export interface StoredHealth {
  readonly up: boolean;
  readonly reason: string;
  readonly weight?: number;
  /** The real server's address when it was judged (`198.51.100.1:80`): a server whose address changed is judged anew. */
  readonly address: string;
}

let bootId: string | null | undefined;

/** The kernel's boot id (`/proc/sys/kernel/random/boot_id`), or null when it cannot be read; read once per process. */
export function currentBootId(): string | null {
  if (bootId) return bootId;
  try {
    bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    bootId = null;
  }
  return bootId;
}

/**
 * The file is written from pieces, the long ones kept encoded: the health of a large
 * table is saved several times a second while its (10,000) managed keys rarely change
 * and most health entries stay as they were, and sorting, quoting and encoding all of
 * them each time was most of a flapping table's CPU. The bytes are those of
 * `JSON.stringify(doc, null, 2)` (tested).
 *
 * The `managed` array, by the live set it was made from and that set's version:
 */
const managedTexts = new WeakMap<object, { version: number; bytes: Buffer }>();
const MANAGED_TOKEN = '@lvsd-managed-keys@';
/** Each health entry (`"VS/RS": {…}`, one level deep), by the entry (entries are replaced, never changed). */
const healthTexts = new WeakMap<StoredHealth, { id: string; bytes: Buffer }>();
const HEALTH_TOKEN = '@lvsd-health@';
const ENTRY_SEP = Buffer.from(',\n    ');

/** The `health` object's pieces, one level deep, from each entry's cached bytes. */
function healthPieces(health: ReadonlyMap<string, StoredHealth>): Buffer[] {
  const ids = [...health.keys()].sort(byText);
  const out: Buffer[] = [Buffer.from('{\n    ')];
  ids.forEach((id, i) => {
    const h = health.get(id)!;
    let t = healthTexts.get(h);
    if (t?.id !== id) {
      t = { id, bytes: Buffer.from(`${JSON.stringify(id)}: ${JSON.stringify(h, null, 2).replace(/\n/g, '\n    ')}`) };
      healthTexts.set(h, t);
    }
    if (i > 0) out.push(ENTRY_SEP);
    out.push(t.bytes);
  });
  out.push(Buffer.from('\n  }'));
  return out;
}

/** What {@link loadState} found. */
export interface LoadedState extends DirectorState {
  /** Set when the file existed but could not be used (then the state is empty). */
  readonly problem?: string;
}

/** Reads the state of `stateDir`; never throws. A missing file is an empty state. */
export function loadState(stateDir: string): LoadedState {
  const file = path.join(stateDir, STATE_FILE);
  const empty = (problem?: string): LoadedState => ({ overrides: new Map(), managed: [], health: new Map(), ...(problem ? { problem } : {}) });
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return empty();
    return empty(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    const doc = JSON.parse(text) as { version?: unknown; overrides?: unknown; managed?: unknown; health?: unknown; bootId?: unknown };
    if (doc.version !== 1 || typeof doc.overrides !== 'object' || doc.overrides === null) {
      return empty(`${file}: not a version 1 director state file`);
    }
    const overrides = new Map<string, OverrideName>();
    for (const [k, v] of Object.entries(doc.overrides as Record<string, unknown>)) {
      if ((v === Override.DRAIN || v === Override.DISABLE) && k.includes('/')) overrides.set(k, v);
    }
    const managed = Array.isArray(doc.managed) ? doc.managed.filter((x): x is string => typeof x === 'string') : [];
    const health = new Map<string, StoredHealth>();
    const boot = currentBootId();
    if (boot !== null && doc.bootId === boot && typeof doc.health === 'object' && doc.health !== null) {
      for (const [k, v] of Object.entries(doc.health as Record<string, unknown>)) {
        const h = v as Partial<StoredHealth> | null;
        if (!k.includes('/') || !h || typeof h.up !== 'boolean' || typeof h.address !== 'string') continue;
        const weight = typeof h.weight === 'number' && Number.isInteger(h.weight) && h.weight >= 0 ? h.weight : undefined;
        health.set(k, { up: h.up, reason: typeof h.reason === 'string' ? h.reason : '', address: h.address, ...(weight !== undefined ? { weight } : {}) });
      }
    }
    return { overrides, managed, health };
  } catch (e) {
    return empty(`${file}: ${(e as Error).message}`);
  }
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);


/**
 * Writes the state atomically; throws {@link StateWriteError}. Creates the directory if needed.
 * `durable` false skips the fsyncs: for a write that only updates health, which a power loss
 * may lose without harm (after a reboot the saved health is ignored anyway), so a burst of
 * health changes costs a rename each, not two disk flushes.
 */
export function saveState(
  stateDir: string,
  state: {
    readonly overrides: Overrides;
    readonly managed: Iterable<string>;
    readonly health?: ReadonlyMap<string, StoredHealth>;
    /** The version of `managed` (a live set that changes): its text is made again only when this changes. */
    readonly managedVersion?: number;
  },
  durable = true,
): void {
  const file = path.join(stateDir, STATE_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  const health = state.health && state.health.size > 0 ? state.health : undefined;
  let managedBytes: Buffer | undefined;
  if (state.managedVersion !== undefined) {
    const cached = managedTexts.get(state.managed);
    if (cached?.version === state.managedVersion) managedBytes = cached.bytes;
    else {
      // As JSON.stringify(doc, null, 2) writes it, one level deep.
      managedBytes = Buffer.from(JSON.stringify([...state.managed].sort(byText), null, 2).replace(/\n/g, '\n  '));
      managedTexts.set(state.managed, { version: state.managedVersion, bytes: managedBytes });
    }
  }
  const doc = {
    version: 1,
    overrides: Object.fromEntries([...state.overrides].sort(([a], [b]) => byText(a, b))),
    managed: managedBytes !== undefined ? MANAGED_TOKEN : [...state.managed].sort(byText),
    // Written only when some server is not in its starting state, so the common file stays as it was.
    ...(health ? { bootId: currentBootId(), health: HEALTH_TOKEN } : {}),
  };
  try {
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o755 });
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      // The long parts go where their tokens stand (top-level keys: two spaces deep).
      const text = `${JSON.stringify(doc, null, 2)}\n`;
      const pieces: Buffer[] = [];
      let from = 0;
      const cut = (token: string, by: Buffer[]): void => {
        const at = text.indexOf(`"${token}"`, from);
        pieces.push(Buffer.from(text.slice(from, at)), ...by);
        from = at + token.length + 2;
      };
      if (managedBytes !== undefined) cut(MANAGED_TOKEN, [managedBytes]);
      if (health) cut(HEALTH_TOKEN, healthPieces(health));
      pieces.push(Buffer.from(text.slice(from)));
      for (let i = 0; i < pieces.length; i += 512) {
        const group = pieces.slice(i, i + 512);
        const want = group.reduce((n, b) => n + b.length, 0);
        const wrote = fs.writevSync(fd, group);
        if (wrote !== want) throw new Error(`short write (${wrote} of ${want} bytes)`);
      }
      if (durable) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    if (!durable) return;
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
