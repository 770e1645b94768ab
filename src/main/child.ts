/**
 * Entry of lvsd's child processes, forked by the supervisor with IPC:
 * `child.js ROLE CONFIG [--dry-run] [--log-level L]`, role `vrrp` or
 * `director`. It runs a {@link Daemon} of that role, answers the parent's
 * requests with the Daemon's control handlers, reports VRRP transitions, and
 * stops cleanly (exit 0) on the parent's `stop`, on SIGTERM/SIGINT, or when
 * the parent goes away (keepalived's children do the same through
 * PR_SET_PDEATHSIG).
 */
import { ControlError } from '../control/server';
import { setEventSink } from '../events/emit';
import { Daemon } from './daemon';
import { ChildRole, type ChildRoleName, RESUME_ENV, type ResumeHint, type ToChild, type ToParent } from './ipc';

function send(m: ToParent): void {
  // A closed channel is reported through the callback (or an 'error' event
  // without one), never thrown: a child whose parent died must still reach
  // its clean stop (priority 0, VIPs removed), not crash on a transition.
  if (!process.connected) return;
  try {
    process.send?.(m, undefined, {}, () => undefined);
  } catch {
    /* the parent is gone; 'disconnect' stops us */
  }
}

/** Runs a child of `role`; returns when it has started (or failed to). */
export async function runChild(argv: readonly string[]): Promise<void> {
  const [role, configFile, ...rest] = argv;
  if ((role !== ChildRole.VRRP && role !== ChildRole.DIRECTOR) || !configFile || !process.send) {
    process.stderr.write('lvsd child: run by the lvsd supervisor only\n');
    process.exit(2);
  }
  setEventSink((event) => send({ kind: 'event', event })); // events go to the parent's store
  const li = rest.indexOf('--log-level');
  const resumeText = process.env[RESUME_ENV];
  const resume = resumeText ? (JSON.parse(resumeText) as ResumeHint) : undefined;
  const daemon = new Daemon({
    configFile,
    dryRun: rest.includes('--dry-run'),
    ...(li >= 0 && rest[li + 1] ? { logLevel: rest[li + 1]! } : {}),
    role: role as ChildRoleName,
    onTransition: (t) => send({ kind: 'transition', t }),
    ...(resume ? { resume } : {}),
  });
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    void daemon.stop(why).finally(() => setImmediate(() => process.exit(0)));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => undefined); // the parent reloads us by request
  process.on('disconnect', () => stop('the lvsd parent process went away'));
  const handlers = (): ReturnType<Daemon['handlers']> => daemon.handlers();
  process.on('message', (m: ToChild) => {
    if (m.kind === 'stop') return stop('asked by the lvsd parent');
    if (m.kind === 'vrrp-state') return daemon.vrrpState(m.instance, m.state);
    if (m.kind !== 'req') return;
    const h = handlers()[m.cmd];
    if (!h) return send({ kind: 'res', id: m.id, ok: false, error: { code: 'UNKNOWN_COMMAND', message: `the ${role} process does not answer "${m.cmd}"` } });
    Promise.resolve()
      .then(() => h(m.args, { connectionId: 0, requestId: m.id } as never))
      .then(
        (result) => send({ kind: 'res', id: m.id, ok: true, result }),
        (e: Error & { code?: unknown }) =>
          send({ kind: 'res', id: m.id, ok: false, error: { code: e instanceof ControlError || typeof e.code === 'string' ? String(e.code) : 'INTERNAL', message: e.message } }),
      );
  });
  try {
    await daemon.start();
    send({ kind: 'ready' });
  } catch (e) {
    const err = e as Error & { code?: string };
    send({ kind: 'start-failed', code: err.code ?? 'ESTART', message: err.message });
    await daemon.stop('start failed').catch(() => undefined);
    setImmediate(() => process.exit(1));
  }
}

if (require.main === module) void runChild(process.argv.slice(2));
