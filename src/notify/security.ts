/**
 * keepalived's `enable_script_security`: a script lvsd runs as root must not
 * be changeable by anyone but root. The script file and every directory on
 * its path (both as written and after resolving symlinks) must be owned by
 * root and must not be writable by "other", nor by a group other than root's
 * (keepalived allows group write for gid 0, since only root-group members
 * have it; we match that so a keepalived-approved setup passes here too).
 * A script run as an unprivileged script_user (and not set-ID root) is not
 * held to this, as in keepalived.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runsAsRoot, type RunAsIds } from '../lib/run-as';

/** Why a script was judged insecure or unusable. */
export const ScriptRefusal = {
  NOT_FOUND: 'NOT_FOUND',
  NOT_A_FILE: 'NOT_A_FILE',
  NOT_EXECUTABLE: 'NOT_EXECUTABLE',
  OWNER_NOT_ROOT: 'OWNER_NOT_ROOT',
  GROUP_WRITABLE: 'GROUP_WRITABLE',
  OTHER_WRITABLE: 'OTHER_WRITABLE',
} as const;
/** One of {@link ScriptRefusal}. */
export type ScriptRefusalCode = (typeof ScriptRefusal)[keyof typeof ScriptRefusal];

/** The verdict of {@link checkScriptSecurity}. */
export type ScriptSecurityResult =
  | { readonly ok: true; /** The absolute resolved script path. */ readonly path: string }
  | {
      readonly ok: false;
      readonly code: ScriptRefusalCode;
      /** The path that caused the refusal (the script or one directory). */
      readonly offending: string;
      /** An operator-facing sentence naming the offending path. */
      readonly message: string;
    };

/** Thrown by callers that want an exception for a refused script. */
export class InsecureScriptError extends Error {
  /** Stable error code. */
  readonly code = 'SCRIPT_INSECURE';
  constructor(
    readonly script: string,
    readonly result: Extract<ScriptSecurityResult, { ok: false }>,
  ) {
    super(result.message);
    this.name = 'InsecureScriptError';
  }
}

/**
 * Finds the file `cmd` names: a name with a `/` is resolved against the
 * current directory; a bare name is searched in `searchPath` (PATH syntax)
 * for an executable regular file. Returns null when nothing is found.
 */
export async function resolveScript(cmd: string, searchPath = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'): Promise<string | null> {
  return resolveScriptSync(cmd, searchPath);
}

/** {@link resolveScript}, synchronously (a few stat calls). */
export function resolveScriptSync(cmd: string, searchPath = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'): string | null {
  if (cmd.includes('/')) return path.resolve(cmd);
  for (const dir of searchPath.split(':')) {
    if (!dir) continue;
    const candidate = path.resolve(dir, cmd);
    try {
      const st = fs.statSync(candidate);
      if (st.isFile()) {
        fs.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      }
    } catch {
      /* try the next directory */
    }
  }
  return null;
}

/** Ancestors of an absolute path, from `/` down to its parent. */
function ancestors(p: string): string[] {
  const out: string[] = [];
  let dir = path.dirname(p);
  for (;;) {
    out.unshift(dir);
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return out;
}

function judge(p: string, uid: number, gid: number, mode: number, what: string): Extract<ScriptSecurityResult, { ok: false }> | null {
  if (uid !== 0) {
    return { ok: false, code: ScriptRefusal.OWNER_NOT_ROOT, offending: p, message: `${what} ${p} is owned by uid ${uid}, not root` };
  }
  if (mode & 0o002) {
    return { ok: false, code: ScriptRefusal.OTHER_WRITABLE, offending: p, message: `${what} ${p} is writable by other users (mode ${(mode & 0o7777).toString(8)})` };
  }
  if (mode & 0o020 && gid !== 0) {
    return { ok: false, code: ScriptRefusal.GROUP_WRITABLE, offending: p, message: `${what} ${p} is writable by group ${gid} (mode ${(mode & 0o7777).toString(8)})` };
  }
  return null;
}

/**
 * Whether a script must be protected: it runs with root's uid or group, or
 * it is set-user-ID or set-group-ID root (keepalived's rule: a script run as
 * an unprivileged script_user may be the property of that user).
 */
function needsProtection(st: { uid: number; gid: number; mode: number }, runAs: RunAsIds | undefined): boolean {
  if (runsAsRoot(runAs)) return true;
  const setuidRoot = st.uid === 0 && (st.mode & 0o4100) === 0o4100;
  const setgidRoot = st.gid === 0 && (st.mode & 0o2010) === 0o2010;
  return setuidRoot || setgidRoot;
}

/**
 * Checks that a script (argv[0] of a hook) is safe to run, as keepalived's
 * `enable_script_security` does: one that runs as root (`runAs` absent and
 * lvsd root, or `runAs` with uid or gid 0) or is set-ID root must not be
 * changeable by anyone but root; one that runs as another user only has to be
 * an executable regular file. Never throws: I/O failures become a refusal
 * naming the path.
 */
export async function checkScriptSecurity(cmd: string, searchPath?: string, runAs?: RunAsIds): Promise<ScriptSecurityResult> {
  return checkScriptSecuritySync(cmd, searchPath, runAs);
}

/**
 * {@link checkScriptSecurity}, synchronously (a stat per directory on the
 * path): what the configuration check at start and reload uses.
 */
export function checkScriptSecuritySync(cmd: string, searchPath?: string, runAs?: RunAsIds): ScriptSecurityResult {
  const resolved = resolveScriptSync(cmd, searchPath);
  if (resolved === null) {
    return { ok: false, code: ScriptRefusal.NOT_FOUND, offending: cmd, message: `script ${cmd} not found in PATH` };
  }
  let real: string;
  let fileStat;
  try {
    real = fs.realpathSync(resolved);
    fileStat = fs.statSync(real);
  } catch {
    return { ok: false, code: ScriptRefusal.NOT_FOUND, offending: resolved, message: `script ${resolved} does not exist` };
  }
  if (!needsProtection(fileStat, runAs)) return usable(resolved, real, fileStat.mode, fileStat.isFile());
  // Directories as written (a symlinked directory is judged by its target,
  // stat follows it) and as resolved: either could let a user swap the file.
  const dirs = [...new Set([...ancestors(resolved), ...ancestors(real)])];
  for (const d of dirs) {
    let st;
    try {
      st = fs.statSync(d);
    } catch {
      return { ok: false, code: ScriptRefusal.NOT_FOUND, offending: d, message: `directory ${d} of script ${resolved} cannot be read` };
    }
    const bad = judge(d, st.uid, st.gid, st.mode, `directory`);
    if (bad) return { ...bad, message: `refusing script ${resolved}: ${bad.message}` };
  }
  if (fileStat.isFile()) {
    const bad = judge(real, fileStat.uid, fileStat.gid, fileStat.mode, 'file');
    if (bad) return { ...bad, message: `refusing script ${resolved}: ${bad.message}` };
  }
  return usable(resolved, real, fileStat.mode, fileStat.isFile());
}

/** The last checks every script gets: a regular file with an execute bit. */
function usable(resolved: string, real: string, mode: number, isFile: boolean): ScriptSecurityResult {
  if (!isFile) {
    return { ok: false, code: ScriptRefusal.NOT_A_FILE, offending: real, message: `refusing script ${resolved}: ${real} is not a regular file` };
  }
  if ((mode & 0o111) === 0) {
    return { ok: false, code: ScriptRefusal.NOT_EXECUTABLE, offending: real, message: `refusing script ${resolved}: ${real} is not executable` };
  }
  return { ok: true, path: resolved };
}

/** A program refused by {@link configScriptProblems}, shaped as a configuration problem (`FILE:LINE: message`). */
export interface ScriptProblem {
  readonly file: string;
  readonly line: number;
  readonly severity: 'error';
  readonly code: 'SCRIPT_INSECURE';
  readonly message: string;
}

/** What {@link configScriptProblems} reads of a configuration. */
export interface ScriptsOfConfig {
  readonly file: string;
  readonly global: { readonly enableScriptSecurity: boolean };
  readonly vrrpScripts: ReadonlyMap<string, { readonly name: string; readonly script: { readonly argv: readonly string[]; readonly line: number }; readonly user?: RunAsIds | undefined }>;
  readonly checks: ReadonlyMap<string, { readonly name: string; readonly type: string; readonly miscPath?: { readonly argv: readonly string[]; readonly line: number }; readonly user?: RunAsIds | undefined }>;
}

/**
 * keepalived applies `enable_script_security` to `vrrp_script` and
 * MISC_CHECK programs too, which run as root unless a user is named: with
 * it on, each such program of `config` is judged as {@link checkScriptSecurity}
 * judges a hook (as the user it will run as). Returns one problem per
 * refused program; none when the setting is off.
 * Run where the configuration is accepted (start, reload, --check-config),
 * so a refused script is a configuration error: lvsd does not start, and a
 * reload changes nothing. (keepalived instead starts with the script
 * disabled, which leaves a tracked instance or a checked real server
 * unguarded without anyone noticing.)
 */
export function configScriptProblems(config: ScriptsOfConfig, searchPath?: string): ScriptProblem[] {
  if (!config.global.enableScriptSecurity) return [];
  const out: ScriptProblem[] = [];
  const judge = (what: string, script: { readonly argv: readonly string[]; readonly line: number }, user: RunAsIds | undefined): void => {
    const cmd = script.argv[0];
    if (cmd === undefined) return;
    const v = checkScriptSecuritySync(cmd, searchPath, user);
    if (!v.ok) out.push({ file: config.file, line: script.line, severity: 'error', code: 'SCRIPT_INSECURE', message: `enable_script_security: ${what}: ${v.message}` });
  };
  for (const s of config.vrrpScripts.values()) judge(`[vrrp_script.${s.name}] script`, s.script, s.user);
  for (const c of config.checks.values()) if (c.type === 'MISC_CHECK' && c.miscPath) judge(`[check.${c.name}] misc_path`, c.miscPath, c.user);
  return out;
}
