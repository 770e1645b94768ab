/**
 * User and group names → ids, for `script_user = USER [GROUP]` and the
 * `user` key of vrrp_script and MISC_CHECK sections. keepalived resolves
 * these when it reads its configuration and refuses a name it cannot find;
 * lvsd does the same, so a typo is a `FILE:LINE` error, not a script that
 * fails to start at 3 a.m.
 *
 * Names come from /etc/passwd and /etc/group (not from NSS: a directory-service
 * user is written by number). A number that is not a name is taken as an id.
 * With no GROUP the user's primary group applies, as keepalived does.
 */
import * as fs from 'node:fs';
import type { Parsed } from './address';
import type { RunAs } from './types';

/** One line of /etc/passwd, the fields lvsd needs. */
export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** One line of /etc/group, the fields lvsd needs. */
export interface GroupEntry {
  readonly name: string;
  readonly gid: number;
}

/** Where names are looked up; the loader asks only when a user key is present. */
export interface UserDb {
  /** The entry of user `name`, if any. */
  userByName(name: string): PasswdEntry | undefined;
  /** The first entry with this uid, if any. */
  userById(uid: number): PasswdEntry | undefined;
  /** The entry of group `name`, if any. */
  groupByName(name: string): GroupEntry | undefined;
}

/** A {@link UserDb} over parsed passwd and group entries. */
export function userDbOf(users: () => readonly PasswdEntry[], groups: () => readonly GroupEntry[]): UserDb {
  return {
    userByName: (name) => users().find((e) => e.name === name),
    userById: (uid) => users().find((e) => e.uid === uid),
    groupByName: (name) => groups().find((e) => e.name === name),
  };
}

/** A resolved `USER [GROUP]`: the names as written and the ids they mean (a {@link RunAs} before its line is known). */
export type ResolvedUser = Omit<RunAs, 'line'>;

/** The largest id Node's spawn accepts (an int32). */
const MAX_ID = 2_147_483_647;

/** Parses passwd(5) text; malformed lines are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || f[0] === '' || line.startsWith('#')) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (/^[0-9]+$/.test(f[2]!) && /^[0-9]+$/.test(f[3]!)) out.push({ name: f[0]!, uid, gid });
  }
  return out;
}

/** Parses group(5) text; malformed lines are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || f[0] === '' || line.startsWith('#')) continue;
    if (/^[0-9]+$/.test(f[2]!)) out.push({ name: f[0]!, gid: Number(f[2]) });
  }
  return out;
}

/** This host's /etc/passwd and /etc/group, each read at most once per database. An unreadable file counts as empty. */
export function systemUsers(passwd = '/etc/passwd', group = '/etc/group'): UserDb {
  let u: PasswdEntry[] | undefined;
  let g: GroupEntry[] | undefined;
  const read = (p: string): string => {
    try {
      return fs.readFileSync(p, 'utf8');
    } catch {
      return '';
    }
  };
  return userDbOf(
    () => (u ??= parsePasswd(read(passwd))),
    () => (g ??= parseGroup(read(group))),
  );
}

/** A fixed database, for tests: `users` maps a name to [uid, gid], `groups` a name to its gid. */
export function fakeUsers(users: Readonly<Record<string, readonly [number, number]>>, groups: Readonly<Record<string, number>> = {}): UserDb {
  return userDbOf(
    () => Object.entries(users).map(([name, [uid, gid]]) => ({ name, uid, gid })),
    () => Object.entries(groups).map(([name, gid]) => ({ name, gid })),
  );
}

function numericId(t: string): number | undefined {
  return /^[0-9]{1,15}$/.test(t) ? Number(t) : undefined;
}

/**
 * Resolves `USER [GROUP]` against `db`. A name is looked up first; a number
 * that names nobody is taken as the id itself. Without GROUP, the user's
 * primary group from /etc/passwd; a bare uid with no passwd entry therefore
 * needs GROUP.
 */
export function resolveUser(text: string, db: UserDb): Parsed<ResolvedUser> {
  const parts = text.split(/\s+/).filter(Boolean);
  if (parts.length < 1 || parts.length > 2) return { ok: false, error: `expected "USER [GROUP]", found "${text}"` };
  const [userName, groupName] = parts as [string, string | undefined];
  const byName = db.userByName(userName);
  const uid = byName?.uid ?? numericId(userName);
  if (uid === undefined) return { ok: false, error: `no user "${userName}" in /etc/passwd (give a user name that exists here, or a numeric uid)` };
  if (uid > MAX_ID) return { ok: false, error: `user "${userName}" has uid ${uid}, beyond ${MAX_ID}, which lvsd cannot run scripts as` };
  let gid: number | undefined;
  if (groupName !== undefined) {
    gid = db.groupByName(groupName)?.gid ?? numericId(groupName);
    if (gid === undefined) return { ok: false, error: `no group "${groupName}" in /etc/group (give a group name that exists here, or a numeric gid)` };
  } else {
    gid = (byName ?? db.userById(uid))?.gid;
    if (gid === undefined) return { ok: false, error: `uid ${uid} is not in /etc/passwd, so it has no primary group: write "${userName} GROUP"` };
  }
  if (gid > MAX_ID) return { ok: false, error: `group of "${text}" has gid ${gid}, beyond ${MAX_ID}, which lvsd cannot run scripts as` };
  return { ok: true, value: { user: userName, ...(groupName !== undefined ? { group: groupName } : {}), uid, gid } };
}
