/**
 * Who a child process runs as: keepalived's `script_user` and `user`, already
 * resolved to numeric ids by the configuration loader. Notify hooks, tracking
 * scripts and MISC_CHECK programs all start through Node's spawn, whose
 * `uid`/`gid` options make libuv drop the supplementary groups, then setgid,
 * then setuid in the child before exec (keepalived does the same three steps).
 */

/** A uid and gid to run a child as. */
export interface RunAsIds {
  readonly uid: number;
  readonly gid: number;
}

/** The spawn options that start a child as `who`; none when `who` is absent (the daemon's own user). */
export function runAsSpawnOptions(who: RunAsIds | undefined): { uid?: number; gid?: number } {
  return who ? { uid: who.uid, gid: who.gid } : {};
}

/** Whether a child run as `who` runs with root's uid or group, as keepalived judges it for script security. */
export function runsAsRoot(who: RunAsIds | undefined): boolean {
  if (!who) return process.getuid?.() === 0 || process.getgid?.() === 0;
  return who.uid === 0 || who.gid === 0;
}

/**
 * Why a child could not start as `who`, in words an operator can act on:
 * EPERM from spawn means this process may not change its uid or gid (not
 * root, or root without CAP_SETUID/CAP_SETGID, as under a systemd
 * CapabilityBoundingSet that leaves them out).
 */
export function describeSpawnError(err: NodeJS.ErrnoException, who: RunAsIds | undefined): string {
  if (who && err.code === 'EPERM') {
    return `${err.message}: lvsd may not switch to uid ${who.uid} gid ${who.gid} (it needs root with CAP_SETUID and CAP_SETGID; see script_user in lvsd.conf(5))`;
  }
  return err.message;
}
