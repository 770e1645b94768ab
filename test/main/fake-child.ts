/**
 * A stand-in for lvsd's child process (src/main/child.ts), for the
 * supervisor's tests: it speaks the same IPC protocol and does what a plan
 * file says, start by start. The plan (JSON, `FAKE_CHILD_PLAN`) maps
 * `ROLE:N` (the Nth start of that role, from 1) to one of:
 * - `ok` (default): ready, heartbeats, answers `status` and the reload phases;
 * - `fail`: sends start-failed, then exits 1;
 * - `exit`: exits 1 before it is ready;
 * - `hang`: ready, then its event loop spins forever (no heartbeats);
 * - `refuse`: like ok, but refuses every reload-prepare;
 * - `nobase`: like ok, but holds a configuration number the parent did not give
 *   (a reload patch against it is refused; the whole part is taken).
 * Every fork appends `{loaded: role, pid, at}` (at: when the process began, ms since
 * the epoch), every start `{start: role, at, n, pid, routerId, instances, virtualServers}`
 * to the log file (`FAKE_CHILD_LOG`), and every reload phase `{role, phase, id}`.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import type { LvsdConfig } from '../../src/config/types';
import type { ToChild, ToParent } from '../../src/main/ipc';
import { applyConfigPatch, type ConfigPatch } from '../../src/main/reload';

const [role] = process.argv.slice(2);
const planFile = process.env.FAKE_CHILD_PLAN!;
const logFile = process.env.FAKE_CHILD_LOG!;
const log = (o: object): void => appendFileSync(logFile, `${JSON.stringify(o)}\n`);
const send = (m: ToParent): void => {
  if (process.connected) process.send!(m);
};
const starts = (): number => readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes(`"start":"${role}"`)).length;

let config: LvsdConfig | undefined;
let version = -1;
let pending: { id: unknown; config: LvsdConfig; version: number } | undefined;
let behaviour = 'ok';
let beat: NodeJS.Timeout | undefined;
process.on('disconnect', () => process.exit(0));
// When this process began (its fork), and that it did, before any start message.
log({ loaded: role, pid: process.pid, at: performance.timeOrigin });
process.on('message', (m: ToChild) => {
  if (m.kind === 'stop') process.exit(0);
  if (m.kind === 'start') {
    const n = starts() + 1;
    behaviour = (JSON.parse(readFileSync(planFile, 'utf8')) as Record<string, string>)[`${role}:${n}`] ?? 'ok';
    config = m.config;
    version = m.version ?? -1;
    if (behaviour === 'nobase') version = -99; // as if it held another configuration than the parent thinks
    log({ start: role, at: Date.now(), n, pid: process.pid, behaviour, routerId: m.config.global.routerId, instances: [...m.config.vrrpInstances.keys()], virtualServers: [...m.config.virtualServers.keys()], resume: m.resume ?? null });
    if (behaviour === 'fail') {
      send({ kind: 'start-failed', code: 'EFAKE', message: `start ${n} fails by plan` });
      setTimeout(() => process.exit(1), 10);
      return;
    }
    if (behaviour === 'exit') process.exit(1);
    beat = setInterval(() => send({ kind: 'heartbeat' }), 100);
    send({ kind: 'ready' });
    if (behaviour === 'hang') setTimeout(() => { for (;;) { /* stuck */ } }, 50);
    return;
  }
  if (m.kind !== 'req' || !config) return;
  const ok = (result: unknown): void => send({ kind: 'res', id: m.id, ok: true, result });
  const no = (code: string, message: string): void => send({ kind: 'res', id: m.id, ok: false, error: { code, message } });
  switch (m.cmd) {
    case 'status':
      return ok({ routerId: config.global.routerId ?? '', pid: process.pid, version: 'test', startedAt: '', instances: [...config.vrrpInstances.keys()].map((name) => ({ name, state: 'BACKUP' })), drops: {} });
    case 'reload-prepare': {
      // As the real child: the whole part, or a patch against the part held.
      const patch = m.args.patch as ConfigPatch | undefined;
      let next: LvsdConfig;
      try {
        next = patch ? applyConfigPatch(config, version, patch) : (m.args.config as LvsdConfig);
      } catch (e) {
        return no('RELOAD_PATCH_BASE', (e as Error).message);
      }
      log({ role, phase: 'prepare', id: m.args.id, routerId: next.global.routerId, patch: patch !== undefined });
      if (behaviour === 'refuse') return no('EFAKE', `${role} refuses by plan`);
      pending = { id: m.args.id, config: next, version: patch ? patch.version : Number(m.args.version) };
      return ok({ changes: [`${role}: prepared`] });
    }
    case 'reload-commit':
      log({ role, phase: 'commit', id: m.args.id });
      if (pending && pending.id === m.args.id) ({ config, version } = pending);
      pending = undefined;
      return ok({ changes: [] });
    case 'reload-abort':
      log({ role, phase: 'abort', id: m.args.id });
      return ok({});
    default:
      return no('UNKNOWN_COMMAND', m.cmd);
  }
});
void beat;
