import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SdNotify, sockaddrUn } from '../../src/kernel/sdnotify';

/** A unix datagram listener, as systemd is: python3 is on every machine of this kind. */
function listen(sockPath: string, count: number): { bound: Promise<void>; lines: Promise<string[]> } {
  const py = `import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint('ready',flush=True)\nfor _ in range(int(sys.argv[2])):\n  print(repr(s.recv(4096).decode()),flush=True)\n`;
  const p = spawn('python3', ['-c', py, sockPath, String(count)]);
  let out = '';
  let bound!: () => void;
  const boundP = new Promise<void>((r) => (bound = r));
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith('ready\n')) bound();
  });
  const lines = new Promise<string[]>((resolve, reject) => {
    p.on('error', reject);
    p.on('exit', () => resolve(out.split('\n').slice(1).filter(Boolean)));
  });
  return { bound: boundP, lines };
}

describe('sd_notify', () => {
  it('builds sockaddr_un for paths and abstract names', () => {
    assert.deepEqual([...sockaddrUn('/run/x')], [1, 0, ...Buffer.from('/run/x'), 0]);
    assert.deepEqual([...sockaddrUn('@abc')], [1, 0, 0, ...Buffer.from('abc')]);
    assert.throws(() => sockaddrUn(''), RangeError);
  });

  it('does nothing without NOTIFY_SOCKET', () => {
    const n = new SdNotify({});
    assert.equal(n.enabled, false);
    assert.equal(n.send('READY=1'), false);
  });

  it('sends READY=1 and status to the socket systemd names', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lvsd-sd-'));
    const sock = path.join(dir, 'notify');
    try {
      const got = listen(sock, 2);
      await got.bound;
      const n = new SdNotify({ NOTIFY_SOCKET: sock });
      n.ready('2 instances');
      n.stopping();
      n.close();
      const lines = await got.lines;
      assert.match(lines[0]!, /READY=1\\nSTATUS=2 instances\\nMAINPID=\d+/);
      assert.equal(lines[1], "'STOPPING=1'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
