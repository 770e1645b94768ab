/**
 * The Debian package: packaging/deb/build.sh builds lvsd_<version>_<arch>.deb
 * from this checkout; its metadata and file list are what a Debian system
 * expects; extracted into a throwaway directory, its lvsd and lvsctl run with
 * the host's node and only the node_modules the package carries (check-config
 * of the shipped lvsd.conf, --help, and a --dry-run daemon in a private network
 * namespace answering the packaged lvsctl); its maintainer scripts run in a
 * private mount namespace (tmpfs over /var/lib, /run and the unit
 * directories) so the host is not touched; lintian reports no error; and
 * systemd-analyze accepts the unit.
 *
 * Needs root (namespaces, dpkg tools, apt-get for a missing tool).
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { HELP } from '../../src/main/args';
import { USAGE } from '../../src/cli/lvsctl';

const TOP = path.resolve(__dirname, '../../..');
const PKG = JSON.parse(fs.readFileSync(path.join(TOP, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: readonly string[], opts: SpawnSyncOptions = {}): Ran {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function ok(cmd: string, args: readonly string[], opts: SpawnSyncOptions = {}): string {
  const r = run(cmd, args, opts);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Installs a Debian package when `tool` is missing (we are root in the test bed). */
function requireTool(tool: string, pkg: string): void {
  if (run('sh', ['-c', `command -v ${tool}`]).status === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { env }).status !== 0) {
    ok('apt-get', ['update', '-qq'], { env });
    ok('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { env });
  }
  assert.equal(run('sh', ['-c', `command -v ${tool}`]).status, 0, `${tool} still missing after apt-get install ${pkg}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('packaging/deb: the Debian package', function () {
  this.timeout(300_000);
  const arch = ok('dpkg', ['--print-architecture']).trim();
  let tmp: string;
  let deb: string;
  let root: string; // the package's files, extracted
  let control: string; // its DEBIAN/ directory
  let listing: string;

  before(() => {
    assert.equal(process.getuid?.(), 0, 'the package tests need root (dpkg tools, unshare); run them as root');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-deb-test-'));
    const out = ok('bash', [path.join(TOP, 'packaging/deb/build.sh')], { cwd: TOP, env: { ...process.env, LVSD_DEB_OUTDIR: tmp } });
    deb = out.trim().split('\n').pop()!;
    root = path.join(tmp, 'root');
    control = path.join(tmp, 'DEBIAN');
    ok('dpkg-deb', ['-x', deb, root]);
    ok('dpkg-deb', ['-e', deb, control]);
    listing = ok('dpkg-deb', ['-c', deb]);
  });

  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('is dist-style named lvsd_<version>_<arch>.deb and is a valid package', () => {
    assert.equal(deb, path.join(tmp, `lvsd_${PKG.version}_${arch}.deb`));
    const info = ok('dpkg-deb', ['-I', deb]);
    assert.match(info, /new Debian package, version 2\.0/);
    const field = (f: string) => ok('dpkg-deb', ['-f', deb, f]).trim();
    assert.equal(field('Package'), 'lvsd');
    assert.equal(field('Version'), PKG.version);
    assert.equal(field('Architecture'), arch, 'the native shim makes the package architecture-specific');
    assert.match(field('Maintainer'), /^.+ <[^@\s]+@[^>\s]+>$/);
    assert.match(field('Description'), /Linux Virtual Server/);
    const depends = field('Depends').split(/,\s*/);
    assert.ok(depends.includes('nodejs (>= 20)'), `Depends ${depends.join(', ')} lacks nodejs (>= 20)`);
    assert.ok(depends.some((d) => /^libc6 \(>= [0-9.]+\)$/.test(d)), `Depends ${depends.join(', ')} lacks the shim's libc6 (dpkg-shlibdeps)`);
    assert.match(field('Installed-Size'), /^[0-9]+$/);
  });

  it('marks /etc/lvsd/lvsd.conf and the sample hook as its conffiles and has sound maintainer scripts', () => {
    assert.equal(fs.readFileSync(path.join(control, 'conffiles'), 'utf8'), '/etc/lvsd/lvsd.conf\n/etc/lvsd/notify.sh\n');
    for (const s of ['postinst', 'prerm', 'postrm']) {
      const f = path.join(control, s);
      assert.equal(fs.statSync(f).mode & 0o777, 0o755, `${s} must be 0755`);
      assert.match(fs.readFileSync(f, 'utf8'), /^#!\/bin\/sh\n/);
      ok('sh', ['-n', f]);
    }
    // md5sums covers every regular file outside the conffiles.
    const sums = fs.readFileSync(path.join(control, 'md5sums'), 'utf8').trim().split('\n');
    const files = listing.split('\n').filter((l) => l.startsWith('-')).map((l) => l.replace(/^.* \.\//, ''));
    assert.deepEqual(sums.map((l) => l.split('  ')[1]).sort(), files.filter((f) => !f.startsWith('etc/')).sort());
    ok('md5sum', ['--quiet', '-c', path.join(control, 'md5sums')], { cwd: root });
  });

  it('holds the daemon, its production modules, the unit, the man pages and the docs, owned by root', () => {
    const entries = new Map<string, string>();
    for (const l of listing.trim().split('\n')) {
      const m = /^(\S+) (\S+)\s+\d+ \S+ \S+ \.\/(.*?)(?: -> (.*))?$/.exec(l);
      assert.ok(m, `unparsed dpkg-deb -c line: ${l}`);
      assert.equal(m[2], 'root/root', `${m[3]} is owned by ${m[2]}`);
      entries.set(m[3]!.replace(/\/$/, ''), `${m[1]}${m[4] ? ` -> ${m[4]}` : ''}`);
    }
    const want: Record<string, RegExp> = {
      'usr/lib/lvsd/bin/lvsd': /^-rwxr-xr-x$/,
      'usr/lib/lvsd/bin/lvsctl': /^-rwxr-xr-x$/,
      'usr/lib/lvsd/dist/src/main/lvsd.js': /^-rw-r--r--$/,
      'usr/lib/lvsd/dist/src/cli/lvsctl.js': /^-rw-r--r--$/,
      'usr/lib/lvsd/build/Release/lvsd_native.node': /^-rw-r--r--$/,
      'usr/lib/lvsd/package.json': /^-rw-r--r--$/,
      'usr/lib/lvsd/checks/check_tcp': /^-rwxr-xr-x$/,
      'usr/sbin/lvsd': /^lrwxrwxrwx -> \.\.\/lib\/lvsd\/bin\/lvsd$/,
      'usr/sbin/lvsctl': /^lrwxrwxrwx -> \.\.\/lib\/lvsd\/bin\/lvsctl$/,
      'etc/lvsd/lvsd.conf': /^-rw-r--r--$/,
      'etc/lvsd/notify.sh': /^-rwxr-xr-x$/,
      'usr/sbin/lvs-realserver': /^-rwxr-xr-x$/,
      'lib/systemd/system/lvsd.service': /^-rw-r--r--$/,
      'usr/share/man/man8/lvsd.8.gz': /^-rw-r--r--$/,
      'usr/share/man/man8/lvsctl.8.gz': /^-rw-r--r--$/,
      'usr/share/man/man5/lvsd.conf.5.gz': /^-rw-r--r--$/,
      'usr/share/doc/lvsd/copyright': /^-rw-r--r--$/,
      'usr/share/doc/lvsd/changelog.gz': /^-rw-r--r--$/,
      'usr/share/doc/lvsd/examples/bird-director.conf': /^-rw-r--r--$/,
      'usr/share/doc/lvsd/examples/bird-router.conf': /^-rw-r--r--$/,
      'usr/lib/lvsd/dist/src/metrics/page/index.html': /^-rw-r--r--$/,
      'usr/lib/lvsd/dist/src/metrics/page/status.js': /^-rw-r--r--$/,
      'usr/lib/lvsd/dist/src/metrics/page/status.css': /^-rw-r--r--$/,
      'usr/share/lvsd/prometheus/lvsd-alerts.yml': /^-rw-r--r--$/,
      'usr/share/lvsd/prometheus/lvsd-alerts.test.yml': /^-rw-r--r--$/,
      'usr/share/lvsd/grafana/lvsd-dashboard.json': /^-rw-r--r--$/,
    };
    for (const [p, re] of Object.entries(want)) {
      assert.ok(entries.has(p), `the package lacks ${p}`);
      assert.match(entries.get(p)!, re, `${p}: ${entries.get(p)}`);
    }
    // Every check script of the checkout, executable.
    for (const c of fs.readdirSync(path.join(TOP, 'checks')).filter((c) => !c.endsWith('.md'))) {
      assert.match(entries.get(`usr/lib/lvsd/checks/${c}`) ?? 'missing', /^-rwxr-xr-x$/, `checks/${c}`);
    }
    // No tests, benches, sources or maps: dist/src JavaScript only.
    const dist = [...entries.keys()].filter((p) => p.startsWith('usr/lib/lvsd/dist/'));
    assert.deepEqual(dist.filter((p) => !p.startsWith('usr/lib/lvsd/dist/src') || /\.(ts|map)$/.test(p)), []);
    // Production dependencies present; dev dependencies absent.
    for (const d of Object.keys(PKG.dependencies)) assert.ok(entries.has(`usr/lib/lvsd/node_modules/${d}/package.json`), `production dependency ${d} missing`);
    for (const d of Object.keys(PKG.devDependencies)) assert.ok(!entries.has(`usr/lib/lvsd/node_modules/${d}`), `dev dependency ${d} shipped`);
    assert.ok(![...entries.keys()].some((p) => p.includes('node_modules/.bin')), 'node_modules/.bin shipped');
  });

  it('ships the unit, the conffile and the man pages exactly as in packaging/ and etc/', () => {
    const same = (a: string, b: Buffer | string) => assert.ok(Buffer.from(b).equals(fs.readFileSync(a)), `${a} differs from the packaged copy`);
    same(path.join(TOP, 'packaging/systemd/lvsd.service'), fs.readFileSync(path.join(root, 'lib/systemd/system/lvsd.service')));
    same(path.join(TOP, 'etc/lvsd.conf'), fs.readFileSync(path.join(root, 'etc/lvsd/lvsd.conf')));
    for (const [src, dst] of [
      ['lvsd.8', 'man8/lvsd.8.gz'],
      ['lvsctl.8', 'man8/lvsctl.8.gz'],
      ['lvsd.conf.5', 'man5/lvsd.conf.5.gz'],
    ] as const) {
      same(path.join(TOP, 'packaging/man', src), zlib.gunzipSync(fs.readFileSync(path.join(root, 'usr/share/man', dst))));
    }
    for (const [src, dst] of [
      ['src/metrics/page/index.html', 'usr/lib/lvsd/dist/src/metrics/page/index.html'],
      ['src/metrics/page/status.js', 'usr/lib/lvsd/dist/src/metrics/page/status.js'],
      ['src/metrics/page/status.css', 'usr/lib/lvsd/dist/src/metrics/page/status.css'],
      ['packaging/monitoring/lvsd-alerts.yml', 'usr/share/lvsd/prometheus/lvsd-alerts.yml'],
      ['packaging/monitoring/lvsd-alerts.test.yml', 'usr/share/lvsd/prometheus/lvsd-alerts.test.yml'],
      ['packaging/monitoring/lvsd-dashboard.json', 'usr/share/lvsd/grafana/lvsd-dashboard.json'],
    ] as const) {
      same(path.join(TOP, src), fs.readFileSync(path.join(root, dst)));
    }
    const copyright = fs.readFileSync(path.join(root, 'usr/share/doc/lvsd/copyright'), 'utf8');
    assert.match(copyright, /^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/$/m);
    assert.match(copyright, /^Files: \*\n.*\nLicense: Apache-2\.0$/m);
    assert.match(copyright, /\/usr\/share\/common-licenses\/Apache-2\.0/);
    for (const d of Object.keys(PKG.dependencies)) assert.match(copyright, new RegExp(`^Files: usr/lib/lvsd/node_modules/${d}/\\*$`, 'm'), `copyright lacks ${d}`);
  });

  it('runs from the extracted files: lvsd --check-config passes on the shipped lvsd.conf', () => {
    // The host's node runs the installed scripts; modules resolve inside the package only.
    const lib = path.join(root, 'usr/lib/lvsd');
    for (const d of Object.keys(PKG.dependencies)) {
      const where = ok(process.execPath, ['-e', `process.stdout.write(require.resolve(${JSON.stringify(d)}))`], { cwd: path.join(lib, 'dist/src/main') });
      assert.ok(where.startsWith(path.join(lib, 'node_modules') + path.sep), `${d} resolves to ${where}, outside the package`);
    }
    const conf = path.join(root, 'etc/lvsd/lvsd.conf');
    const r = run(process.execPath, [path.join(root, 'usr/sbin/lvsd'), '--check-config', '--config', conf], { cwd: tmp });
    assert.equal(r.status, 0, `installed lvsd --check-config failed:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, new RegExp(`${conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: configuration valid`));
    // It judges the file: an error still fails.
    const bad = path.join(tmp, 'bad.conf');
    fs.writeFileSync(bad, '[global]\nrouter_idd = x\n');
    const b = run(process.execPath, [path.join(root, 'usr/sbin/lvsd'), '--check-config', '--config', bad], { cwd: tmp });
    assert.equal(b.status, 1);
    assert.match(b.stdout, /bad\.conf:2: .*"router_idd"/);
  });

  it('runs from the extracted files: lvsd --help, lvsctl --help and both --version', () => {
    assert.equal(ok(process.execPath, [path.join(root, 'usr/sbin/lvsd'), '--help'], { cwd: tmp }), `${HELP}\n`);
    assert.equal(ok(process.execPath, [path.join(root, 'usr/sbin/lvsctl'), '--help'], { cwd: tmp }).trim(), USAGE.trim());
    assert.equal(ok(process.execPath, [path.join(root, 'usr/sbin/lvsd'), '--version'], { cwd: tmp }), `lvsd ${PKG.version}\n`);
    assert.equal(ok(process.execPath, [path.join(root, 'usr/sbin/lvsctl'), '--version'], { cwd: tmp }).trim(), `lvsctl ${PKG.version}`);
    // The packaged scripts name Debian's node, not whatever is first in PATH.
    assert.match(fs.readFileSync(path.join(root, 'usr/lib/lvsd/bin/lvsd'), 'utf8'), /^#!\/usr\/bin\/node\n/);
  });

  it('runs from the extracted files: a --dry-run daemon (native shim loaded) answers the packaged lvsctl and serves the status page', async () => {
    requireTool('ip', 'iproute2');
    requireTool('unshare', 'util-linux');
    const dir = path.join(tmp, 'run');
    fs.mkdirSync(path.join(dir, 'state'), { recursive: true });
    const sock = path.join(dir, 'lvsd.sock');
    const conf = path.join(dir, 'lvsd.conf');
    fs.writeFileSync(
      conf,
      [
        '[global]',
        'router_id = pkgtest',
        `control_socket = ${sock}`,
        `state_dir = ${path.join(dir, 'state')}`,
        'metrics_listen = 127.0.0.1:9650',
        '[vrrp_instance.VI_PKG]',
        'interface = lo',
        'virtual_router_id = 77',
        'version = 3',
        'virtual_ipaddress[] = 192.0.2.77/32',
        '',
      ].join('\n'),
    );
    // A private network namespace: its VRRP adverts stay on its own loopback.
    const child = spawn('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, path.join(root, 'usr/sbin/lvsd'), '--dry-run', '--config', conf], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (c: Buffer) => (log += c.toString()));
    child.stderr.on('data', (c: Buffer) => (log += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let status: Ran | undefined;
      for (let i = 0; i < 100; i++) {
        if (child.exitCode !== null) break;
        if (fs.existsSync(sock)) {
          status = run(process.execPath, [path.join(root, 'usr/sbin/lvsctl'), '--socket', sock, '--json', 'status'], { cwd: tmp });
          if (status.status === 0) break;
        }
        await sleep(100);
      }
      assert.ok(status && status.status === 0, `the installed lvsd did not answer lvsctl within 10 s:\n${log}\n${status?.stderr ?? ''}`);
      const st = JSON.parse(status.stdout) as { routerId: string; instances: { name: string }[] };
      assert.equal(st.routerId, 'pkgtest');
      assert.deepEqual(st.instances.map((i) => i.name), ['VI_PKG']);
      // The status page, from the package's own files, on the daemon's (private) loopback.
      const get = (p: string): { status: number; type: string; body: string } =>
        JSON.parse(ok('nsenter', [`--net=/proc/${child.pid}/ns/net`, process.execPath, '-e',
          `require('node:http').get('http://127.0.0.1:9650${p}', (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => process.stdout.write(JSON.stringify({ status: r.statusCode, type: r.headers['content-type'], body: b }))); }).on('error', (e) => { console.error(e.message); process.exit(1); });`]));
      const page = get('/');
      assert.equal(page.status, 200, page.body);
      assert.equal(page.body, fs.readFileSync(path.join(root, 'usr/lib/lvsd/dist/src/metrics/page/index.html'), 'utf8'));
      assert.equal(get('/status.js').status, 200);
      const doc = JSON.parse(get('/status.json').body) as { lvsd: { routerId: string }; vrrp: { instances: { name: string }[] } };
      assert.equal(doc.lvsd.routerId, 'pkgtest');
      assert.deepEqual(doc.vrrp.instances.map((i) => i.name), ['VI_PKG']);
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, `lvsd did not stop cleanly on SIGTERM:\n${log}`);
  });

  it('maintainer scripts: a first install creates /var/lib/lvsd and enables nothing; remove masks; purge cleans', () => {
    requireTool('unshare', 'util-linux');
    requireTool('deb-systemd-helper', 'init-system-helpers');
    // Everything the scripts write is a tmpfs of a private mount namespace.
    const script = [
      'set -e',
      'for d in /var/lib /run /lib/systemd/system /etc/systemd/system; do mount -t tmpfs lvsd-test "$d"; done',
      `cp "${root}/lib/systemd/system/lvsd.service" /lib/systemd/system/`,
      'export DPKG_MAINTSCRIPT_PACKAGE=lvsd',
      `DPKG_MAINTSCRIPT_NAME=postinst sh "${control}/postinst" configure ""`,
      'echo "dir: $(stat -c %a:%U /var/lib/lvsd)"',
      'if [ -e /etc/systemd/system/multi-user.target.wants/lvsd.service ]; then echo enabled; else echo not-enabled; fi',
      `DPKG_MAINTSCRIPT_NAME=prerm sh "${control}/prerm" remove`,
      `DPKG_MAINTSCRIPT_NAME=postrm sh "${control}/postrm" remove`,
      'echo "masked: $(readlink /etc/systemd/system/lvsd.service)"',
      `DPKG_MAINTSCRIPT_NAME=postrm sh "${control}/postrm" purge`,
      'if [ -e /var/lib/lvsd ]; then echo state-left; else echo state-gone; fi',
      'if [ -e /etc/systemd/system/lvsd.service ]; then echo still-masked; else echo unmasked; fi',
    ].join('\n');
    const out = ok('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script]);
    assert.deepEqual(out.trim().split('\n'), [
      'lvsd: edit /etc/lvsd/lvsd.conf, check it with "lvsd --check-config", then run "systemctl enable --now lvsd".',
      'dir: 750:root',
      'not-enabled',
      'masked: /dev/null',
      'state-gone',
      'unmasked',
    ]);
  });

  it('lintian finds no error', () => {
    requireTool('lintian', 'lintian');
    const r = run('lintian', ['--tag-display-limit', '0', deb], { env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    const tags = r.stdout.split('\n').filter((l) => /^[EWIPX]: /.test(l));
    const errors = tags.filter((l) => l.startsWith('E: '));
    assert.deepEqual(errors, [], `lintian errors:\n${r.stdout}${r.stderr}`);
    // Known and accepted: winston's dependencies bundle the "async" library (libjs-async).
    const unexpected = tags.filter((l) => l.startsWith('W: ') && !/embedded-javascript-library please use libjs-async/.test(l));
    assert.deepEqual(unexpected, [], 'new lintian warnings');
  });

  it('systemd-analyze verify accepts the unit, with its commands taken from the package', () => {
    requireTool('systemd-analyze', 'systemd');
    // verify resolves ExecStart paths on this host, where lvsd is not installed:
    // point them at the extracted package instead, nothing else changed.
    const unitDir = path.join(tmp, 'unit');
    fs.mkdirSync(unitDir);
    const unit = fs.readFileSync(path.join(root, 'lib/systemd/system/lvsd.service'), 'utf8');
    fs.writeFileSync(path.join(unitDir, 'lvsd.service'), unit.replace(/\/usr\/sbin\/(lvsd|lvsctl)\b/g, (_m, name: string) => path.join(root, 'usr/sbin', name)));
    const r = run('systemd-analyze', ['verify', '--man=no', path.join(unitDir, 'lvsd.service')]);
    assert.equal(r.status, 0, `systemd-analyze verify:\n${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.trim(), '', `systemd-analyze verify warned:\n${r.stderr}`);
    // The settings the brief fixes, present as written.
    const keys = new Map<string, string[]>();
    for (const l of unit.split('\n')) {
      const m = /^([A-Za-z]+)=(.*)$/.exec(l);
      if (m) keys.set(m[1]!, [...(keys.get(m[1]!) ?? []), m[2]!]);
    }
    const one = (k: string) => {
      assert.equal(keys.get(k)?.length, 1, `${k} should be set once`);
      return keys.get(k)![0];
    };
    assert.equal(one('Type'), 'notify');
    assert.equal(one('NotifyAccess'), 'main');
    assert.equal(one('WatchdogSec'), '30s');
    assert.equal(one('ExecStart'), '/usr/sbin/lvsd --config /etc/lvsd/lvsd.conf');
    assert.equal(keys.get('ExecStartPre'), undefined, 'lvsd validates the file itself: no second reader');
    assert.deepEqual(keys.get('ExecReload'), ['/usr/sbin/lvsctl --config /etc/lvsd/lvsd.conf --timeout 60 reload']);
    assert.equal(one('Restart'), 'on-failure');
    assert.equal(one('CapabilityBoundingSet'), 'CAP_NET_ADMIN CAP_NET_RAW');
    assert.equal(one('AmbientCapabilities'), 'CAP_NET_ADMIN CAP_NET_RAW');
    assert.equal(one('NoNewPrivileges'), 'yes');
    assert.equal(one('ProtectSystem'), 'strict');
    assert.equal(one('ReadWritePaths'), '/run/lvsd /var/lib/lvsd');
    assert.equal(one('ProtectHome'), 'yes');
    assert.equal(one('PrivateTmp'), 'yes');
    assert.equal(one('RuntimeDirectory'), 'lvsd');
    assert.equal(one('StateDirectory'), 'lvsd');
    assert.equal(one('WantedBy'), 'multi-user.target');
    assert.ok(!keys.has('MemoryDenyWriteExecute'), "MemoryDenyWriteExecute breaks V8's JIT");
  });
});

describe('packaging/deb: an upgrade does not restart a running lvsd (issue 12)', () => {
  it('postinst configure OLD-VERSION with lvsd active: no restart, a reminder', () => {
    assert.equal(process.getuid?.(), 0, 'the maintainer-script test needs root (unshare); run it as root');
    requireTool('unshare', 'util-linux');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-postinst-'));
    try {
      // Stubs for every systemd tool the script may call, each logging its arguments;
      // systemctl is-active answers "running".
      const bin = path.join(tmp, 'bin');
      fs.mkdirSync(bin);
      for (const tool of ['systemctl', 'deb-systemd-helper', 'deb-systemd-invoke', 'invoke-rc.d']) {
        fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> "${tmp}/calls"\nexit 0\n`, { mode: 0o755 });
      }
      const script = [
        'set -e',
        'for d in /var/lib /run; do mount -t tmpfs lvsd-test "$d"; done',
        'mkdir -p /run/systemd/system',
        `export PATH="${bin}:$PATH" DPKG_MAINTSCRIPT_PACKAGE=lvsd DPKG_MAINTSCRIPT_NAME=postinst`,
        `sh "${path.join(TOP, 'packaging/deb/postinst')}" configure 0.0.9`,
      ].join('\n');
      const out = ok('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script]);
      const calls = fs.readFileSync(path.join(tmp, 'calls'), 'utf8');
      assert.doesNotMatch(calls, /restart|stop|start /, `the upgrade touched the running lvsd:\n${calls}`);
      assert.match(calls, /^systemctl --quiet is-active lvsd\.service$/m);
      assert.match(out, /running lvsd keeps the old version until it is restarted/);
      assert.match(out, /restart the backup first/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
