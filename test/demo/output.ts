/**
 * What every flavour of the demo shares: writing to a stdout that may go
 * away (`| head`), the story's clock, and a run wrapper that cleans up on
 * every exit (success, error, Ctrl-C, SIGTERM, SIGHUP, a closed stdout).
 */

/** Set when stdout's reader went away: stop writing, clean up, exit. */
let stdoutGone = false;

/** Prints one line to stdout, unless its reader went away. */
export function out(line = ''): void {
  if (!stdoutGone) process.stdout.write(line + '\n');
}

/** A step of the story that did not happen in time. */
export class DemoStepError extends Error {
  /** Stable error code. */
  readonly code = 'DEMO_STEP';
}

/** A moment the demo itself puts on the failover timeline. */
export interface Marker {
  /** ISO 8601 wall-clock time, comparable with lvsd's event times. */
  readonly at: string;
  readonly text: string;
}

/**
 * The story's clock and narrator: stamps lines with the seconds since the
 * story began and keeps the demo's own markers for the timeline.
 */
export class Narrator {
  /** performance.now() when the story began. */
  readonly t0 = performance.now();
  /** Date.now() at the same moment: maps performance.now() to wall time. */
  readonly wall0 = Date.now();
  readonly markers: Marker[] = [];

  /** Seconds since the story began, as printed in the left column. */
  stamp(t = performance.now()): string {
    return `+${((t - this.t0) / 1000).toFixed(2).padStart(6)}s`;
  }

  /** Prints a narrative line, stamped. */
  say(text: string, t = performance.now()): void {
    out(`${this.stamp(t)}  ${text}`);
  }

  /** Notes a moment on the failover timeline, and says it. */
  mark(text: string, t = performance.now()): void {
    this.markers.push({ at: new Date(this.wall0 + (t - this.t0)).toISOString(), text });
    this.say(text, t);
  }

  /** Lets the live lines run for `ms`. */
  calm(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }
}

/** One row of a printed failover timeline. */
export interface TimelineRow {
  readonly at: string;
  readonly text: string;
}

/** Prints `rows` in time order, each stamped relative to `wall0` (Date.now() at the story's start). */
export function printTimeline(title: string, wall0: number, rows: readonly TimelineRow[]): void {
  out(title);
  for (const r of [...rows].sort((a, b) => Date.parse(a.at) - Date.parse(b.at))) {
    const t = (Date.parse(r.at) - wall0) / 1000;
    out(`  +${t.toFixed(3).padStart(7)}s  ${r.text}`);
  }
  out();
}

/** How {@link runGuarded} runs a story. */
export interface GuardedRun {
  /** The story; a thrown error becomes exit status 1 with its message on stderr. */
  readonly body: () => Promise<void>;
  /** Undoes everything; called exactly once on every way out. */
  readonly cleanup: () => Promise<void>;
  /** Extra text for stderr when the body failed (process outputs and such). */
  readonly diagnostics?: () => string;
  /** Say "cleaning up … cleaned up" around the cleanup (default true). */
  readonly announceCleanup?: boolean;
}

/**
 * Runs a story with cleanup on every exit. Resolves with the exit status:
 * 0 when the body finished, 1 when it threw; a signal N exits the process
 * with 128+N after the cleanup, a closed stdout with 1.
 */
export async function runGuarded(run: GuardedRun): Promise<number> {
  const announce = run.announceCleanup ?? true;
  let cleaning: Promise<void> | undefined;
  let signalled = false;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      if (announce) out('cleaning up: stopping every process, deleting the namespaces…');
      await run.cleanup();
      if (announce) out('cleaned up');
    })());
  const onSignal = (sig: NodeJS.Signals, n: number): void => {
    signalled = true;
    out(`\n${sig}: stopping`);
    void cleanup().finally(() => process.exit(128 + n));
  };
  const onInt = (): void => onSignal('SIGINT', 2);
  const onTerm = (): void => onSignal('SIGTERM', 15);
  const onHup = (): void => onSignal('SIGHUP', 1);
  const onStdoutError = (e: NodeJS.ErrnoException): void => {
    stdoutGone = true;
    signalled = true;
    if (e.code !== 'EPIPE') process.stderr.write(`demo: stdout: ${e.message}\n`);
    void cleanup().finally(() => process.exit(1));
  };
  const onUncaught = (e: Error): void => {
    process.stderr.write(`demo: ${e.stack ?? e.message}\n`);
    void cleanup().finally(() => process.exit(1));
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.on('SIGHUP', onHup);
  process.stdout.on('error', onStdoutError);
  process.on('uncaughtException', onUncaught);

  let status = 0;
  try {
    await run.body();
  } catch (e) {
    status = 1;
    // After a signal the story collapses as cleanup kills its processes: not news.
    if (!signalled) {
      process.stderr.write(`demo: ${(e as Error).message}\n`);
      try {
        const d = run.diagnostics?.();
        if (d) process.stderr.write(`${d}\n`);
      } catch {
        /* nothing built yet */
      }
    }
  } finally {
    await cleanup();
    // Several stories may run one after the other in one process: each guards only its own.
    if (!signalled) {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      process.off('SIGHUP', onHup);
      process.stdout.off('error', onStdoutError);
      process.off('uncaughtException', onUncaught);
    }
  }
  return status;
}
