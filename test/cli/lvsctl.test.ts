import * as assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SOCKET, parseArgs, parseSince, resolveSocketPath, UsageError } from '../../src/cli/lvsctl';
import { ControlError, ControlServer } from '../../src/control/server';
import type { ControlHandlers } from '../../src/control/server';
import { sampleServices, sampleStatus } from '../control/fixtures';

const ROOT = path.resolve(__dirname, '../../..');
const TRANSITION = {
  seq: 1, at: '2026-01-10T11:58:00.000Z', subsystem: 'vrrp', severity: 'info', subject: 'VI_1', message: 'BACKUP -> MASTER: master down timer expired',
  fields: { from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired' }, instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired',
};
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
      return { events: [TRANSITION], seq: 1 };
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
    assert.match(r.stdout, /^AT +SUBSYSTEM +LEVEL +SUBJECT +MESSAGE\n2026-01-10T11:58:00\.000Z +vrrp +info +VI_1 +BACKUP -> MASTER: master down timer expired\n$/);
    const all = await lvsctl('--socket', sock, 'events');
    assert.equal(all.code, 0);
    assert.deepEqual(seenArgs[1], {}, 'no limit when N is omitted');
  });

  it('events --since DURATION|TIME and --subsystem ask the daemon for that selection', async () => {
    await serve(canned);
    const t0 = Date.now();
    const r = await lvsctl('--socket', sock, 'events', '--since', '10m', '--subsystem', 'vrrp,check');
    assert.equal(r.code, 0, r.stderr);
    const a = seenArgs[0] as { since: string; subsystem: string[] };
    assert.deepEqual(a.subsystem, ['vrrp', 'check']);
    const back = t0 - Date.parse(a.since);
    assert.ok(back >= 599_000 && back <= 601_000 + 15_000, `--since 10m asked from ${a.since}, ${back} ms back`);
    const abs = await lvsctl('--socket', sock, 'events', '--since=2026-01-10T11:00:00Z', '3');
    assert.equal(abs.code, 0, abs.stderr);
    assert.deepEqual(seenArgs[1], { limit: 3, since: '2026-01-10T11:00:00.000Z' });
    const bad = await lvsctl('--socket', sock, 'events', '--since', 'last tuesday');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--since takes a time .* or a duration .*, not "last tuesday"/);
    assert.equal((await lvsctl('--socket', sock, 'status', '--follow')).code, 2, '--follow goes with events only');
    assert.equal((await lvsctl('--socket', sock, 'events', '--subsystem', 'bogus')).code, 2);
  });

  it('events --follow refuses an lvsd that cannot be followed (no seq in its answer) instead of repeating it', async () => {
    await serve({ events: () => ({ events: [{ at: '2026-01-10T11:58:00.000Z', instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'r' }] }) });
    const r = await lvsctl('--socket', sock, 'events', '--follow');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot be followed/);
  });

  it('events --follow prints the history, then each new event as it comes, until interrupted (--json: one event per line)', async () => {
    const later = { seq: 2, at: '2026-01-10T11:59:00.000Z', subsystem: 'check', severity: 'warn', subject: 'web/web1', message: 'down: ECONNREFUSED', fields: {} };
    let release: (() => void) | undefined;
    await serve({
      events: async (args) => {
        seenArgs.push(args);
        if (args.after === undefined) return { events: [TRANSITION], seq: 1 };
        if (args.after === 1) {
          await new Promise<void>((r) => (release = r));
          return { events: [later], seq: 2 };
        }
        return new Promise(() => undefined); // nothing newer: the daemon keeps it waiting
      },
    });
    for (const json of [false, true]) {
      seenArgs = [];
      const child = spawn(process.execPath, [BIN, '--socket', sock, ...(json ? ['--json'] : []), 'events', '--follow']);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const until = async (what: () => boolean, label: string): Promise<void> => {
        for (let i = 0; i < 300 && !what(); i++) await new Promise((r) => setTimeout(r, 20));
        assert.ok(what(), `${label}; got ${JSON.stringify(out)}`);
      };
      await until(() => out.includes('VI_1') && release !== undefined, 'the history first, then a waiting request');
      assert.deepEqual(seenArgs[1], { after: 1, wait: 25_000 });
      release!();
      release = undefined;
      await until(() => out.includes('web/web1'), 'the new event');
      const code = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      child.kill('SIGINT');
      assert.equal(await code, 0);
      if (json) {
        assert.deepEqual(out.trim().split('\n').map((l) => JSON.parse(l)), [TRANSITION, later]);
      } else {
        assert.match(out, /^AT +SUBSYSTEM +LEVEL +SUBJECT +MESSAGE\n.* vrrp +info +VI_1 +BACKUP -> MASTER: master down timer expired\n2026-01-10T11:59:00\.000Z +check +warn +web\/web1 +down: ECONNREFUSED\n$/);
      }
    }
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

  it('show services prints the services table and one row per real server', async () => {
    await serve({ 'show services': () => sampleServices() });
    const r = await lvsctl('--socket', sock, 'show', 'services');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^VS +SERVICE +SCHED +KIND +PERSIST +QUORUM$/);
    assert.match(lines[1]!, /^web +TCP 192\.0\.2\.100:80 +wlc +NAT +- +up \(weight 3, quorum 1\)$/);
    assert.equal(lines[3], 'web (TCP 192.0.2.100:80):');
    assert.equal(lines[4], '  connections 40 (2/s), in 400 packets 40000 bytes (5 pps, 500 B/s), out 300 packets 300000 bytes (4 pps, 4000 B/s)');
    assert.match(lines[5]!, /^ {2}REAL-SERVER +ADDRESS +WEIGHT +HEALTH +OVERRIDE +KWEIGHT +ACTIVE +INACT +CPS$/);
    assert.match(lines[6]!, /^ {2}rs1 +198\.51\.100\.1:80 +1\/1 +up \(status 200\) +- +1 +7 +3 +2$/);
    assert.match(lines[7]!, /^ {2}rs2 +198\.51\.100\.2:80 +2\/0 +up \(status 200\) +drain +0 +1 +0 +0$/);
    assert.match(lines[8]!, /^ {2}rs3 +198\.51\.100\.3:80 +1\/- +down \(ECONNREFUSED\) +- +- +- +- +-$/);
    const col = lines[5]!.indexOf('HEALTH');
    assert.equal(lines[8]!.indexOf('down'), col, 'columns line up');
    const j = await lvsctl('--socket', sock, '--json', 'show', 'services');
    assert.deepEqual(JSON.parse(j.stdout), sampleServices());
    const persistent = sampleServices();
    await server!.close();
    await serve({ 'show services': () => ({ ...persistent, virtualServers: persistent.virtualServers.map((v) => ({ ...v, persistenceTimeoutS: 300 })) }) });
    const p = await lvsctl('--socket', sock, 'show', 'services');
    assert.match(p.stdout.split('\n')[1]!, /^web +TCP 192\.0\.2\.100:80 +wlc +NAT +300s +up/);
  });

  it('show checks prints each real server with its checks and last reason', async () => {
    const answer = { realServers: [
      { vs: 'web', rs: 'rs1', address: '198.51.100.1:80', health: 'up', reason: 'status 200', checks: [{ name: 'web_health', type: 'HTTP_GET' }] },
      { vs: 'web', rs: 'rs3', address: '198.51.100.3:80', health: 'down', reason: 'ECONNREFUSED', checks: [{ name: 'tcp', type: 'TCP_CHECK' }, { name: 'web_health', type: 'HTTP_GET' }] },
    ] };
    await serve({ 'show checks': () => answer });
    const r = await lvsctl('--socket', sock, 'show', 'checks');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^VS +REAL-SERVER +ADDRESS +HEALTH +CHECKS +LAST-REASON$/);
    assert.match(lines[1]!, /^web +rs1 +198\.51\.100\.1:80 +up +web_health\(HTTP_GET\) +status 200$/);
    assert.match(lines[2]!, /^web +rs3 +198\.51\.100\.3:80 +down +tcp\(TCP_CHECK\),web_health\(HTTP_GET\) +ECONNREFUSED$/);
    const j = await lvsctl('--socket', sock, 'show', 'checks', '--json');
    assert.deepEqual(JSON.parse(j.stdout), answer);
  });

  it('drain, disable and enable send VS and RS and print what is in force; a refusal exits 1', async () => {
    const seen: Array<[string, unknown]> = [];
    const h = (what: 'drain' | 'disable' | 'enable') => (args: Readonly<Record<string, unknown>>) => {
      seen.push([what, args]);
      if (args.rs === 'nope') throw new ControlError('DIRECTOR_UNKNOWN_REAL_SERVER', 'no real server "nope" in virtual server "web"');
      return { vs: args.vs, rs: args.rs, override: what === 'enable' ? null : what };
    };
    await serve({ drain: h('drain'), disable: h('disable'), enable: h('enable') });
    const d = await lvsctl('--socket', sock, 'drain', 'web', 'rs1');
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stdout, 'web/rs1: drained (weight 0, established connections continue)\n');
    const x = await lvsctl('--socket', sock, 'disable', 'web', 'rs2');
    assert.equal(x.stdout, 'web/rs2: disabled (removed from the table)\n');
    const e = await lvsctl('--socket', sock, '--json', 'enable', 'web', 'rs1');
    assert.deepEqual(JSON.parse(e.stdout), { vs: 'web', rs: 'rs1', override: null });
    assert.deepEqual(seen, [['drain', { vs: 'web', rs: 'rs1' }], ['disable', { vs: 'web', rs: 'rs2' }], ['enable', { vs: 'web', rs: 'rs1' }]]);
    const bad = await lvsctl('--socket', sock, 'drain', 'web', 'nope');
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'lvsctl: lvsd refused drain (DIRECTOR_UNKNOWN_REAL_SERVER): no real server "nope" in virtual server "web"\n');
  });

  it('check-config validates a file locally: FILE:LINE problems and exit 1, or exit 0', async () => {
    const good = path.join(dir, 'good.conf');
    fs.writeFileSync(good, '[global]\nrouter_id = a\n\n[vrrp_instance.VI_1]\ninterface = lo\nvirtual_router_id = 51\npriority = 100\nvirtual_ipaddress[] = 192.0.2.100/24\n');
    const ok = await lvsctl('check-config', good);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, new RegExp(`${good}: configuration valid\n$`));
    const bad = path.join(dir, 'bad.conf');
    fs.writeFileSync(bad, '[global]\nrouter_id = a\n\n[vrrp_instance.VI_1]\ninterface = lo\nvirtual_router_id = 51\nprio = 100\n');
    const r = await lvsctl('check-config', bad);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`^${bad}:7: .*prio`, 'm'));
    const j = await lvsctl('--json', '--config', bad, 'check-config');
    assert.equal(j.code, 1);
    const parsed = JSON.parse(j.stdout) as { file: string; valid: boolean; problems: Array<{ line: number; severity: string }> };
    assert.equal(parsed.file, bad);
    assert.equal(parsed.valid, false);
    assert.ok(parsed.problems.some((p) => p.line === 7 && p.severity === 'error'));
    const missing = await lvsctl('check-config', path.join(dir, 'none.conf'));
    assert.equal(missing.code, 1);
  });

  it('an unknown command or bad argument exits 2 with a usage hint, without contacting the daemon', async () => {
    for (const args of [['frobnicate'], ['events', 'abc'], ['events', '0'], ['show'], ['show', 'ipvs'], ['status', 'extra'], ['--bogus', 'status'], ['--socket'], ['--json=yes', 'status'], [],
      ['drain', 'web'], ['undrain', 'x'], ['disable', 'web', 'rs1', 'rs2'], ['enable', 'web'], ['show', 'services', 'x'], ['show', 'checks', 'x'], ['check-config', 'a', 'b']]) {
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
    for (const word of ['status', 'show vrrp', 'show services', 'show checks', 'drain VS RS', 'disable VS RS', 'enable VS RS', 'check-config [FILE]', 'events [N]', 'reload', 'help', 'version', '--socket PATH', '--config FILE', '--json', '--timeout', '--help', '--version']) {
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
    assert.deepEqual(parseArgs(['events', '-f', '--since', '1h30m', '--subsystem', 'check']).command, { kind: 'events', since: '1h30m', follow: true, subsystems: ['check'] });
    assert.throws(() => parseArgs(['--timeout', '0', 'status']), UsageError);
  });

  it('reads --since as a duration back or a time', () => {
    const now = new Date('2026-01-10T12:00:00.000Z');
    assert.equal(parseSince('90s', now), '2026-01-10T11:58:30.000Z');
    assert.equal(parseSince('1h30m', now), '2026-01-10T10:30:00.000Z');
    assert.equal(parseSince('2d', now), '2026-01-08T12:00:00.000Z');
    assert.equal(parseSince('2026-01-09T08:00:00Z', now), '2026-01-09T08:00:00.000Z');
    assert.equal(parseSince('2026-01-09 08:00', now), new Date(2026, 0, 9, 8, 0).toISOString(), 'no offset: local time');
    assert.equal(parseSince('8:05', now), new Date(now.getFullYear(), now.getMonth(), now.getDate(), 8, 5).toISOString());
    for (const bad of ['', 'yesterday', '10 minutes', '25:99', '1x']) assert.throws(() => parseSince(bad, now), UsageError, bad);
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
