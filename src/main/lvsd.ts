/**
 * `lvsd`: parse the command line, then validate, import, or run the daemon
 * in the foreground until SIGTERM/SIGINT. Only wiring lives here.
 */
import { importKeepalived } from '../config/keepalived/import';
import { HELP, type LvsdCommand, UsageError, parseArgs } from './args';
import { loadChecked, problemLines } from './check-config';
import { VERSION } from './daemon';
import { Supervisor } from './supervisor';

/** Runs lvsd with `argv` (without node and script); sets process.exitCode. */
export async function main(argv: readonly string[]): Promise<void> {
  let cmd: LvsdCommand;
  try {
    cmd = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`lvsd: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  switch (cmd.kind) {
    case 'help':
      process.stdout.write(`${HELP}\n`);
      return;
    case 'version':
      process.stdout.write(`lvsd ${VERSION}\n`);
      return;
    case 'check-config': {
      const r = loadChecked(cmd.config); // the loader plus enable_script_security on vrrp_script and MISC_CHECK
      const lines = problemLines(r.problems);
      if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
      process.exitCode = r.valid ? 0 : 1;
      if (!process.exitCode) process.stdout.write(`${cmd.config}: configuration valid\n`);
      return;
    }
    case 'import-keepalived':
      process.exitCode = await importKeepalived(cmd.file, cmd.output, cmd.configId ? { configId: cmd.configId } : {});
      return;
    case 'run':
      return runDaemon(cmd);
  }
}

async function runDaemon(cmd: Extract<LvsdCommand, { kind: 'run' }>): Promise<void> {
  // The parent: VRRP and the director run in child processes it restarts (supervisor.ts).
  const daemon = new Supervisor({ configFile: cmd.config, dryRun: cmd.dryRun, ...(cmd.logLevel ? { logLevel: cmd.logLevel } : {}) });
  const stop = (why: string, code: number): void => {
    void daemon.stop(why).then(() => {
      process.exitCode = code;
      // Sockets are closed; leave even if a hook child is still running.
      setImmediate(() => process.exit(code));
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM', 0));
  process.on('SIGINT', () => stop('SIGINT', 0));
  process.on('SIGHUP', () => {
    daemon.reload().catch(() => {
      /* logged by reload; the running configuration stays */
    });
  });
  process.on('SIGUSR1', () => {
    daemon.status().then((s) => process.stdout.write(`${JSON.stringify({ ...s, processes: daemon.childPids() })}\n`), () => undefined);
  });
  // keepalived's SIGUSR2: statistics. One JSON line per instance: adverts, errors, drops.
  process.on('SIGUSR2', () => {
    daemon.status().then((s) => {
      for (const i of s.instances) {
        const c = (i as { counters?: unknown }).counters;
        process.stdout.write(`${JSON.stringify({ statistics: i.name, state: i.state, counters: c ?? null, drops: i.drops })}\n`);
      }
    }, () => undefined);
  });
  try {
    await daemon.start();
  } catch (e) {
    process.stderr.write(`lvsd: cannot start: ${(e as Error).message}\n`);
    await daemon.stop('start failed').catch(() => undefined);
    process.exitCode = 1;
    setImmediate(() => process.exit(1));
  }
}
