/**
 * Runs the demo (dist/test/demo/demo.js, what `npm run demo` starts) as a child
 * process for its tests: test/ns/demo.test.ts (--mode proxy) and
 * test/vm/demo-modes.test.ts (the IPVS modes, in the VM test bed).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';

/** The compiled demo's entry point. */
export const DEMO = path.resolve(__dirname, '..', 'demo', 'demo.js');

/** How a demo run ended, with all it printed. */
export interface DemoRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** From the spawn to the close, in ms. */
  ms: number;
}

/**
 * Runs the demo with `args`; `onStdout` sees all of stdout so far at each chunk and
 * may signal it; SIGKILL after `timeoutMs`. `watch` is called with the child once
 * spawned; the function it returns is called when the child has closed.
 */
export function runDemo(
  args: readonly string[],
  timeoutMs: number,
  onStdout?: (text: string, kill: (s: NodeJS.Signals) => void) => void,
  watch?: (child: ChildProcess) => () => void,
): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [DEMO, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const unwatch = watch?.(child);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, (s) => child.kill(s));
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      unwatch?.();
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}
