/**
 * lvsd under systemd's Type=notify: READY=1 once VRRP runs, RELOADING=1 and
 * READY=1 around a SIGHUP reload, STOPPING=1 on SIGTERM, watchdog pings when
 * WATCHDOG_USEC asks for them — seen by a unix datagram listener standing in
 * for systemd.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { Topology, waitFor } from '../lib/netns';
import { LVSD, Scratch, lvsdConfig } from '../lib/director';

describe('systemd notify protocol (Type=notify, watchdog)', function () {
  this.timeout(60_000);
  let topo: Topology;
  let scratch: Scratch;
  before(async () => {
    topo = await Topology.create('sdn');
    scratch = new Scratch();
    await topo.addHost('d1', ['192.0.2.11/24']);
  });
  after(async () => {
    await topo?.destroy();
    scratch?.remove();
  });

  it('says READY, RELOADING/READY, WATCHDOG and STOPPING at the right moments', async () => {
    const sockPath = scratch.path('notify');
    const py = `import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint('bound',flush=True)\nwhile True:\n  print(repr(s.recv(4096).decode()),flush=True)\n`;
    const listener = spawn('python3', ['-c', py, sockPath]);
    let heard = '';
    listener.stdout.on('data', (d: Buffer) => (heard += d.toString()));
    try {
      await waitFor('the listener to bind', () => heard.startsWith('bound'), { timeoutMs: 5000 });
      const conf = scratch.file('d1.conf', lvsdConfig('lvs-d1', scratch.path('d1.sock'), [{ priority: 150, advertInt: 0.2, vips: ['192.0.2.100/24'] }]));
      const p = topo.spawn('d1', [process.execPath, LVSD, '--config', conf], { env: { ...process.env, NOTIFY_SOCKET: sockPath, WATCHDOG_USEC: '400000' } });
      await waitFor('READY=1', () => /READY=1\\nSTATUS=1 VRRP instance/.test(heard), { timeoutMs: 15_000 });
      await waitFor('watchdog pings', () => (heard.match(/WATCHDOG=1/g) ?? []).length >= 2, { timeoutMs: 5000 });
      const before = heard.length;
      p.child.kill('SIGHUP');
      await waitFor('RELOADING then READY', () => /RELOADING=1[\s\S]*READY=1/.test(heard.slice(before)), { timeoutMs: 10_000 });
      p.child.kill('SIGTERM');
      await waitFor('STOPPING=1', () => heard.includes('STOPPING=1'), { timeoutMs: 10_000 });
      const exit = await p.exited;
      assert.equal(exit.code, 0, p.output());
    } finally {
      listener.kill('SIGKILL');
    }
  });
});
