/**
 * MISC_CHECK: run a program and judge the real server by its exit code, as keepalived:
 * exit 0 up, 1 down; with `misc_dynamic`, 2–255 up with weight = code − 2; without it,
 * any non-zero exit is down. A program killed by a signal is down.
 *
 * The program runs through spawn with `shell: false` — never a shell — as the leader of
 * its own process group (detached; Node's execFile ignores `detached`, hence spawn),
 * so that on misc_timeout the whole group — the script and whatever it spawned — is
 * killed with SIGKILL, not just the script. With keepalived's `user` (or script_user)
 * it starts as that uid and gid.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { describeSpawnError, runAsSpawnOptions } from '../lib/run-as';
import { CheckResult, MiscCheckOptions } from './types';

/** misc_timeout when neither it nor delay_loop is set (keepalived: delay_loop, 60 s). */
export const DEFAULT_MISC_TIMEOUT = 60;

/** A misc_path that cannot be split into a command line; carries a stable `code`. */
export class MiscPathError extends Error {
  /** Stable error code. */
  readonly code = 'ERR_CHECK_MISC_PATH';
  constructor(path: string, why: string) {
    super(`misc_path "${path}": ${why}`);
    this.name = 'MiscPathError';
  }
}

/**
 * Splits a keepalived-style command line into argv: words separated by blanks, with
 * '…' (literal) and "…" (backslash escapes \" and \\) quoting, and \x outside quotes.
 * No expansion of any kind happens. Throws {@link MiscPathError} on an unclosed quote or
 * an empty line.
 */
export function splitCommandLine(line: string): string[] {
  const argv: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ' ' || c === '\t') {
      if (inWord) argv.push(cur);
      cur = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new MiscPathError(line, 'unclosed single quote');
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      inWord = true;
      for (;;) {
        if (i >= line.length) throw new MiscPathError(line, 'unclosed double quote');
        const d = line[i];
        if (d === '"') break;
        if (d === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) {
          cur += line[i + 1];
          i += 2;
        } else {
          cur += d;
          i++;
        }
      }
      i++;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[i + 1];
      inWord = true;
      i += 2;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) argv.push(cur);
  if (argv.length === 0) throw new MiscPathError(line, 'empty command');
  return argv;
}

/**
 * Maps an exit code to a verdict (pure). `code` null means killed by `signal`.
 */
export function judgeExit(
  code: number | null,
  signal: NodeJS.Signals | null,
  dynamic: boolean,
): Pick<CheckResult, 'ok' | 'reason' | 'weight'> {
  if (code === null) return { ok: false, reason: `killed by ${signal ?? 'signal'}` };
  if (code === 0) return { ok: true, reason: 'exit 0' };
  if (code === 1 || !dynamic) return { ok: false, reason: `exit ${code}` };
  return { ok: true, reason: `exit ${code}`, weight: code - 2 };
}

/**
 * The spawn options of one MISC_CHECK run: no shell, its own process group (so a
 * timeout can kill the script's children too), no stdio (output is not judged, and
 * no pipe held by a lingering descendant can keep us), started as `opts.user`.
 */
export function miscSpawnOptions(opts: Pick<MiscCheckOptions, 'user'>): SpawnOptions {
  return { detached: true, shell: false, stdio: 'ignore', windowsHide: true, ...runAsSpawnOptions(opts.user) };
}

/**
 * Runs one MISC_CHECK attempt. Never throws or rejects. On misc_timeout (default
 * delay_loop, else 60 s) or an aborted `signal`, SIGKILL goes to the whole process group.
 */
export function miscCheck(opts: MiscCheckOptions, signal?: AbortSignal): Promise<CheckResult> {
  const t0 = performance.now();
  const timeoutMs = (opts.misc_timeout ?? opts.delay_loop ?? DEFAULT_MISC_TIMEOUT) * 1000;
  return new Promise<CheckResult>((resolve) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    let pid: number | undefined;
    const killGroup = (): void => {
      if (pid === undefined) return;
      try {
        // A negative pid addresses the process group the detached child leads.
        process.kill(-pid, 'SIGKILL');
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const finish = (r: Pick<CheckResult, 'ok' | 'reason' | 'weight'>): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve({ ...r, durationMs: performance.now() - t0 });
    };
    const onAbort = (): void => {
      killGroup();
      finish({ ok: false, reason: 'aborted' });
    };
    let argv: string[];
    try {
      argv = splitCommandLine(opts.misc_path);
    } catch (err) {
      return finish({ ok: false, reason: `bad options: ${(err as Error).message}` });
    }
    if (signal?.aborted) return finish({ ok: false, reason: 'aborted' });
    try {
      const child = spawn(argv[0], argv.slice(1), miscSpawnOptions(opts));
      pid = child.pid;
      child.once('error', (err: NodeJS.ErrnoException) => {
        killGroup();
        finish({ ok: false, reason: `cannot run ${argv[0]}: ${err.code === 'EPERM' ? describeSpawnError(err, opts.user) : err.code ?? err.message}` });
      });
      child.once('exit', (code, sig) => finish(judgeExit(code, sig, opts.misc_dynamic === true)));
      signal?.addEventListener('abort', onAbort, { once: true });
      timer = setTimeout(() => {
        killGroup();
        finish({ ok: false, reason: `timeout after ${timeoutMs} ms, process group killed` });
      }, timeoutMs);
    } catch (err) {
      finish({ ok: false, reason: `cannot run ${argv[0]}: ${(err as Error).message}` });
    }
  });
}
