/**
 * A child's log lines reach the shared stdout before the message it sends the
 * parent next: the parent's reaction (e.g. "lvsd started" after the
 * director's `ready`) must never be written before the lines that led to it.
 * Console lines are batched per event-loop turn (src/log.ts), so the child
 * IPC path flushes them before each message.
 */
import { strict as assert } from 'node:assert';
import { fork } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

describe("child IPC: a child's log lines come before its next message to the parent", () => {
  it('the parent reacting to the message writes after the line logged before it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lvsd-logorder-'));
    const file = path.join(dir, 'out');
    const fd = openSync(file, 'a');
    try {
      const child = fork(path.join(__dirname, 'log-order-child.js'), [], { stdio: ['ignore', fd, fd, 'ipc'] });
      await new Promise<void>((resolve, reject) => {
        child.on('message', () => writeSync(fd, 'parent line after ready\n'));
        child.on('error', reject);
        child.on('exit', () => resolve());
      });
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      const c = lines.findIndex((l) => l.includes('child line before ready'));
      const p = lines.indexOf('parent line after ready');
      assert.ok(c >= 0 && p >= 0, `both lines expected, got:\n${lines.join('\n')}`);
      assert.ok(c < p, `the child's line came after the parent's reaction:\n${lines.join('\n')}`);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
