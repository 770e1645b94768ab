/**
 * Entry of lvsd's child processes, forked by the supervisor with IPC:
 * `child.js ROLE CONFIG [--dry-run] [--log-level L]`, role `vrrp` or
 * `director` (CONFIG only names the file in `ps`: the child never reads it).
 * It waits for the parent's `start` message, which carries its part of the
 * last accepted configuration, runs a {@link Daemon} of that role, answers
 * the parent's requests with the Daemon's control handlers (the reload's
 * prepare / commit / abort among them), reports VRRP transitions, sends a
 * heartbeat every {@link HEARTBEAT_MS}, and stops cleanly (exit 0) on the
 * parent's `stop`, on SIGTERM/SIGINT, or when the parent goes away
 * (keepalived's children do the same through PR_SET_PDEATHSIG).
 */
import { ControlError } from '../control/server';
import { setEventSink } from '../events/emit';
import { flushLogLines } from '../log';
import { Daemon } from './daemon';
import { ChildRole, type ChildRoleName, HEARTBEAT_MS, type ToChild, type ToParent } from './ipc';

export function sendToParent(m: ToParent): void {
  // A closed channel is reported through the callback (or an 'error' event
  // without one), never thrown: a child whose parent died must still reach
  // its clean stop (priority 0, VIPs removed), not crash on a transition.
  if (!process.connected) return;
  // Console lines wait for the end of the turn (src/log.ts); write them first,
  // so the parent's reaction to this message is never logged before them.
  flushLogLines();
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
  setEventSink((event) => sendToParent({ kind: 'event', event })); // events go to the parent's store
  const li = rest.indexOf('--log-level');
  let daemon: Daemon | undefined;
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    if (!daemon) return process.exit(0);
    void daemon.stop(why).finally(() => setImmediate(() => process.exit(0)));
  };
  // Heartbeats start at once: a child stuck before it is ready is as dead as one stuck after.
  setInterval(() => sendToParent({ kind: 'heartbeat' }), HEARTBEAT_MS);
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => undefined); // the parent reloads us by request
  process.on('disconnect', () => stop('the lvsd parent process went away'));
  const started = (d: Daemon): void => {
    d.start().then(
      () => sendToParent({ kind: 'ready' }),
      async (e: Error & { code?: string }) => {
        sendToParent({ kind: 'start-failed', code: e.code ?? 'ESTART', message: e.message });
        await d.stop('start failed').catch(() => undefined);
        setImmediate(() => process.exit(1));
      },
    );
  };
  process.on('message', (m: ToChild) => {
    if (m.kind === 'stop') return stop('asked by the lvsd parent');
    if (m.kind === 'start') {
      if (daemon || stopping) return;
      daemon = new Daemon({
        configFile,
        config: { config: m.config, warnings: [...m.warnings] },
        ...(m.version !== undefined ? { configVersion: m.version } : {}),
        dryRun: rest.includes('--dry-run'),
        ...(li >= 0 && rest[li + 1] ? { logLevel: rest[li + 1]! } : {}),
        role: role as ChildRoleName,
        onTransition: (t) => sendToParent({ kind: 'transition', t }),
        ...(m.resume ? { resume: { ...m.resume, receivedAt: performance.now() } } : {}),
      });
      return started(daemon);
    }
    if (!daemon) return;
    if (m.kind === 'vrrp-state') return daemon.vrrpState(m.instance, m.state);
    if (m.kind !== 'req') return;
    const h = daemon.handlers()[m.cmd];
    if (!h) return sendToParent({ kind: 'res', id: m.id, ok: false, error: { code: 'UNKNOWN_COMMAND', message: `the ${role} process does not answer "${m.cmd}"` } });
    Promise.resolve()
      .then(() => h(m.args, { connectionId: 0, requestId: m.id } as never))
      .then(
        (result) => sendToParent({ kind: 'res', id: m.id, ok: true, result }),
        (e: Error & { code?: unknown }) =>
          sendToParent({ kind: 'res', id: m.id, ok: false, error: { code: e instanceof ControlError || typeof e.code === 'string' ? String(e.code) : 'INTERNAL', message: e.message } }),
      );
  });
}

if (require.main === module) void runChild(process.argv.slice(2));
