import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SOCKET, parseArgs, resolveSocketPath, UsageError } from '../../src/cli/lvsctl';
import { ControlError, ControlServer } from '../../src/control/server';
import type { ControlHandlers } from '../../src/control/server';
import { sampleStatus } from '../control/fixtures';

const ROOT = path.resolve(__dirname, '../../..');
const BIN = path.join(ROOT, 'bin', 'lvsctl');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real bin/lvsctl as a child process. */
function lvsctl(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 15000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('cli/lvsctl end to end against a ControlServer', function () {
  this.timeout(20000);
  let dir: string;
  let sock: string;
  let server: ControlServer | undefined;
  let seenArgs: unknown[];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsctl-'));
    sock = path.join(dir, 'lvsd.sock');
    seenArgs = [];
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function serve(handlers: ControlHandlers): Promise<void> {
    server = new ControlServer({ path: sock, handlers });
    await server.listen();
  }

  const canned: ControlHandlers = {
    status: () => sampleStatus(new Date()),
    events: (args) => {
      seenArgs.push(args);
      return { events: [{ at: '2026-01-10T11:58:00.000Z', instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired' }] };
    },
    reload: () => ({ changes: ['instance VI_2 added', 'VI_1: priority 150 -> 160'], warnings: ['/etc/lvsd/lvsd.conf:9: interface eth7 does not exist here'] }),
  };

  it('status prints the aligned table with non-zero drops', async () => {
    await serve(canned);
    const r = await lvsctl('--socket', sock, 'status');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^lvsd 0\.1\.0, router_id lvs-a, pid 4242, up 2h0[23]m$/);
    assert.match(lines[1]!, /^NAME +STATE +PRIO +VRID +IFACE +MASTER +LAST-CHANGE +REASON$/);
    assert.match(lines[2]!, /^VI_1 +MASTER +90\/150 +51 +eth0 +192\.0\.2\.11 \(90\) +2m0[5-9]s ago +master down timer expired$/);
    assert.match(lines[3]!, /^VI_INSIDE +BACKUP +100\/100 +52 +eth1 +- +- +-$/);
    // Columns line up: every row's STATE starts where the header's does.
    const col = lines[1]!.indexOf('STATE');
    assert.equal(lines[2]!.indexOf('MASTER'), col);
    assert.equal(lines[3]!.indexOf('BACKUP'), col);
    assert.deepEqual(lines.slice(4), ['drops:', '  interface:  unknown_vrid=3', '  VI_1:       bad_ttl=2 vip_mismatch=1', '']);
    assert.equal(r.stderr, '');
  });

  it('--json passes the daemon answer through unchanged', async () => {
    let sent: unknown;
    await serve({ status: () => (sent = sampleStatus(new Date())) });
    const r = await lvsctl('status', '--json', `--socket=${sock}`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), sent);
  });

  it('show vrrp prints per-instance details', async () => {
    await serve(canned);
    const r = await lvsctl('--socket', sock, 'show', 'vrrp');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /VRRP instance VI_1\n/);
    assert.match(r.stdout, /192\.0\.2\.100\/24, 2001:db8::100\/64/);
    assert.match(r.stdout, /VRRP instance VI_INSIDE\n/);
  });

  it('events N asks for N events and prints them', async () => {
    await serve(canned);
    const r = await lvsctl('--socket', sock, 'events', '5');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(seenArgs, [{ limit: 5 }]);
    assert.match(r.stdout, /^AT +INSTANCE +FROM +TO +REASON\n2026-01-10T11:58:00\.000Z +VI_1 +BACKUP +MASTER +master down timer expired\n$/);
    const all = await lvsctl('--socket', sock, 'events');
    assert.equal(all.code, 0);
    assert.deepEqual(seenArgs[1], {}, 'no limit when N is omitted');
  });

  it('reload prints the changes, warnings on stderr; an invalid config exits 1 with the daemon message', async () => {
    await serve(canned);
    const ok = await lvsctl('--socket', sock, 'reload');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'reload: 2 changes applied\n  instance VI_2 added\n  VI_1: priority 150 -> 160\n');
    assert.equal(ok.stderr, 'warning: /etc/lvsd/lvsd.conf:9: interface eth7 does not exist here\n');
    server!.setHandlers({
      reload: () => {
        throw new ControlError('CONFIG_INVALID', '/etc/lvsd/lvsd.conf:3: unknown key "prio"');
      },
    });
    const bad = await lvsctl('--socket', sock, 'reload');
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'lvsctl: lvsd refused reload (CONFIG_INVALID): /etc/lvsd/lvsd.conf:3: unknown key "prio"\n');
  });

  it('an unknown command or bad argument exits 2 with a usage hint, without contacting the daemon', async () => {
    for (const args of [['frobnicate'], ['events', 'abc'], ['events', '0'], ['show'], ['show', 'ipvs'], ['status', 'extra'], ['--bogus', 'status'], ['--socket'], ['--json=yes', 'status'], []]) {
      const r = await lvsctl(...args);
      assert.equal(r.code, 2, `lvsctl ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^lvsctl: .+\ntry 'lvsctl --help'\n$/, `lvsctl ${args.join(' ')}`);
      assert.equal(r.stdout, '');
    }
  });

  it('says "is lvsd running?" and exits 1 when no daemon listens', async () => {
    const r = await lvsctl('--socket', sock, 'status');
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `lvsctl: is lvsd running? no control socket at ${sock}\n`);
  });

  it('reports a clear error when the daemon answers something that is not JSON', async () => {
    const fake = net.createServer((s) => s.on('data', () => s.end('Segmentation fault\n')));
    await new Promise<void>((r) => fake.listen(sock, r));
    try {
      const r = await lvsctl('--socket', sock, 'status');
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^lvsctl: bad answer from the control socket ${sock}: answer is not JSON.*Segmentation fault`));
    } finally {
      await new Promise((r) => fake.close(r));
    }
  });

  it('reports an answer of the wrong shape', async () => {
    await serve({ status: () => ({ hello: 'world' }) });
    const r = await lvsctl('--socket', sock, 'status');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unexpected shape/);
  });

  it('finds the socket through control_socket in the config file', async () => {
    await serve(canned);
    const conf = path.join(dir, 'lvsd.conf');
    fs.writeFileSync(conf, `[global]\nrouter_id = lvs-a\ncontrol_socket = ${sock}   ; lvsctl talks here\n\n[vrrp_instance.VI_1]\npriority = 150\n`);
    const r = await lvsctl('--config', conf, 'status', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).routerId, 'lvs-a');
    const missing = await lvsctl('--config', path.join(dir, 'nope.conf'), 'status');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read config .*nope\.conf: no such file/);
  });

  it('help lists every command and option; --version prints the package version', async () => {
    const h = await lvsctl('--help');
    assert.equal(h.code, 0);
    for (const word of ['status', 'show vrrp', 'events [N]', 'reload', 'help', 'version', '--socket PATH', '--config FILE', '--json', '--timeout', '--help', '--version']) {
      assert.ok(h.stdout.includes(word), `help mentions ${word}`);
    }
    assert.equal((await lvsctl('help')).stdout, h.stdout);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const v = await lvsctl('--version');
    assert.equal(v.code, 0);
    assert.equal(v.stdout, `lvsctl ${pkg.version}\n`);
  });

  it('bin/lvsctl is executable with a node shebang', () => {
    const st = fs.statSync(BIN);
    assert.ok(st.mode & 0o111, 'executable');
    assert.ok(fs.readFileSync(BIN, 'utf8').startsWith('#!/usr/bin/env node\n'));
  });
});

describe('cli/lvsctl: argument parsing and socket resolution', () => {
  it('parses options anywhere and --opt=value forms', () => {
    assert.deepEqual(parseArgs(['status', '--json', '--socket=/run/x.sock', '--timeout', '2.5']), {
      socket: '/run/x.sock',
      config: undefined,
      json: true,
      timeoutMs: 2500,
      command: { kind: 'status' },
    });
    assert.deepEqual(parseArgs(['events', '20']).command, { kind: 'events', limit: 20 });
    assert.throws(() => parseArgs(['--timeout', '0', 'status']), UsageError);
  });

  it('falls back to the default socket when the default config is absent or silent', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsctl-conf-'));
    try {
      const conf = path.join(dir, 'lvsd.conf');
      fs.writeFileSync(conf, '[global]\nrouter_id = x\n');
      assert.equal(resolveSocketPath({ config: conf }), DEFAULT_SOCKET);
      assert.equal(resolveSocketPath({ socket: '/x.sock', config: path.join(dir, 'missing') }), '/x.sock', '--socket wins, config unread');
      if (!fs.existsSync('/etc/lvsd/lvsd.conf')) assert.equal(resolveSocketPath({}), DEFAULT_SOCKET);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
