/**
 * The watchdog reflects the children's health: SdNotify pings WATCHDOG=1
 * only while its health predicate (the supervisor's: every child alive or
 * being restarted) says so. A unix datagram listener stands in for systemd.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SdNotify } from '../../src/kernel/sdnotify';

describe('sd_notify watchdog follows the health predicate', function () {
  this.timeout(20_000);
  it('pings while healthy, stops while not, and pings again', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lvsd-wd-'));
    const sockPath = path.join(dir, 'notify');
    const py = `import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint('bound',flush=True)\nwhile True:\n  print(repr(s.recv(4096).decode()),flush=True)\n`;
    const listener = spawn('python3', ['-c', py, sockPath]);
    let heard = '';
    listener.stdout.on('data', (d: Buffer) => (heard += d.toString()));
    const pings = (): number => (heard.match(/WATCHDOG=1/g) ?? []).length;
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    let healthy = true;
    const sd = new SdNotify({ NOTIFY_SOCKET: sockPath, WATCHDOG_USEC: '100000' }, () => healthy);
    try {
      for (let i = 0; i < 100 && !heard.startsWith('bound'); i++) await sleep(50);
      sd.ready('test');
      await sleep(400);
      const first = pings();
      assert.ok(first >= 3, `pings while healthy: ${first}`);
      healthy = false;
      await sleep(100);
      const stopped = pings();
      await sleep(500);
      assert.equal(pings(), stopped, 'no ping while a child is unhealthy');
      healthy = true;
      await sleep(400);
      assert.ok(pings() >= stopped + 3, 'pings again once healthy');
    } finally {
      sd.close();
      listener.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
