/**
 * IpvsClient against a real IPVS kernel (Linux 6.1 in the test VM), with ipvsadm as the
 * independent oracle, and FakeIpvs held to the kernel's answers.
 *
 * This file is two things: under mocha it boots the VM once and runs the scenario
 * test/vm/scenarios/ipvs-netlink.sh; run by node directly (as the scenario does, inside a
 * fresh network namespace in the guest) it is the driver that makes the checks and prints
 * one `ok - NAME` / `not ok - NAME: why` line per check.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { IpvsClient } from '../../src/kernel/ipvs/client';
import { FakeIpvs, KNOWN_SCHEDULERS } from '../../src/kernel/ipvs/fake';
import type { IpvsDest, IpvsOp, IpvsOpResult, IpvsService, ServiceKey } from '../../src/kernel/ipvs/types';

const noFlags = { persistent: false, onePacket: false, sched1: false, sched2: false, sched3: false };

function svc(key: ServiceKey, scheduler: string, more: Partial<IpvsService> = {}): IpvsService {
  return { key, scheduler, flags: { ...noFlags, ...more.flags }, timeoutS: more.timeoutS ?? 0, netmask: more.netmask ?? (key.family === 4 ? 32 : 128) };
}
function dest(address: string, port: number, more: Partial<IpvsDest> = {}): IpvsDest {
  return { address, port, fwdMethod: 'NAT', weight: 1, upperThreshold: 0, lowerThreshold: 0, ...more };
}

const WEB: ServiceKey = { family: 4, protocol: 'TCP', address: '192.0.2.100', port: 80 };
const DNS6: ServiceKey = { family: 6, protocol: 'UDP', address: '2001:db8::100', port: 53 };
const SCTP: ServiceKey = { family: 4, protocol: 'SCTP', address: '192.0.2.103', port: 9 };
const SYSLOG: ServiceKey = { family: 4, protocol: 'UDP', address: '192.0.2.102', port: 514 };
const FWM7: ServiceKey = { family: 4, fwmark: 7 };
const FWM8: ServiceKey = { family: 6, fwmark: 8 };

/** The checks, run in the guest. Returns the number of failures. */
async function driver(): Promise<number> {
  let failures = 0;
  const check = async (name: string, f: () => Promise<void> | void): Promise<void> => {
    const t0 = Date.now();
    try {
      await f();
      console.log(`ok - ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failures++;
      console.log(`not ok - ${name}: ${(e as Error).stack ?? String(e)}`);
    }
  };
  const ipvsadm = (...args: string[]): string => execFileSync('ipvsadm', args, { encoding: 'utf8' });
  const saved = (): string[] =>
    ipvsadm('-S', '-n')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .sort();
  const codes = (rs: IpvsOpResult[]): string[] => rs.map((r) => (r.ok ? 'ok' : r.error.code));

  const modules = readFileSync('/proc/modules', 'utf8');
  const schedulers = KNOWN_SCHEDULERS.filter((s) => new RegExp(`^ip_vs_${s} `, 'm').test(modules));
  console.log(`# schedulers with a module in this kernel: ${schedulers.join(' ')}; absent: ${KNOWN_SCHEDULERS.filter((s) => !schedulers.includes(s)).join(' ') || 'none'}`);

  const ipvs = await IpvsClient.open();
  const fake = new FakeIpvs();
  /** Applies ops to the kernel and the fake; the fake must answer as the kernel did. */
  const both = async (ops: IpvsOp[]): Promise<string[]> => {
    const k = codes(await ipvs.apply(ops));
    assert.deepEqual(codes(await fake.apply(ops)), k, 'FakeIpvs answered differently from the kernel');
    return k;
  };

  await check('info reports version 1.2.1 and the table size', async () => {
    const info = await ipvs.info();
    assert.equal(info.version, '1.2.1');
    assert.match(ipvsadm('-Ln'), new RegExp(`version 1\\.2\\.1 \\(size=${info.connTableSize}\\)`));
  });

  const services: IpvsService[] = [
    svc(WEB, 'wlc'),
    svc(DNS6, 'sh', { flags: { ...noFlags, sched1: true, sched2: true } }),
    svc(SCTP, 'lc'),
    svc(SYSLOG, 'mh', { flags: { ...noFlags, sched2: true, onePacket: true } }),
    svc(FWM7, 'rr', { flags: { ...noFlags, persistent: true }, timeoutS: 300, netmask: 24 }),
    svc(FWM8, 'wrr', { flags: { ...noFlags, persistent: true }, timeoutS: 60, netmask: 64 }),
    ...schedulers.map((s, i) => svc({ family: 4, protocol: 'TCP', address: '192.0.2.200', port: 1000 + i }, s)),
  ];
  const dests: [ServiceKey, IpvsDest][] = [
    [WEB, dest('198.51.100.1', 8080, { weight: 5, upperThreshold: 100, lowerThreshold: 10 })],
    [WEB, dest('198.51.100.2', 80, { fwdMethod: 'DR', weight: 0 })],
    [WEB, dest('198.51.100.3', 80, { fwdMethod: 'TUN' })],
    [WEB, dest('198.51.100.4', 80, { fwdMethod: 'TUN', tunType: 'gue', tunPort: 6080, tunFlags: 1 })],
    [WEB, dest('198.51.100.5', 80, { fwdMethod: 'TUN', tunType: 'gre', tunFlags: 1 })],
    [DNS6, dest('2001:db8::10', 53, { weight: 2 })],
    [DNS6, dest('2001:db8::11', 53, { fwdMethod: 'DR', weight: 3 })],
    [SCTP, dest('198.51.100.6', 9)],
    [FWM7, dest('198.51.100.7', 0, { fwdMethod: 'DR' })],
    [FWM8, dest('2001:db8::12', 0, { fwdMethod: 'DR' })],
  ];
  const expectedSave = [
    '-A -t 192.0.2.100:80 -s wlc',
    '-A -u [2001:db8::100]:53 -s sh -b sh-fallback,sh-port',
    '-A --sctp-service 192.0.2.103:9 -s lc',
    '-A -u 192.0.2.102:514 -s mh -o -b mh-port',
    '-A -f 7 -s rr -p 300 -M 255.255.255.0',
    '-A -f 8 -6 -s wrr -p 60 -M 64',
    ...schedulers.map((s, i) => `-A -t 192.0.2.200:${1000 + i} -s ${s}`),
    // ipvsadm -S leaves thresholds out; they are checked with -Ln --thresholds.
    '-a -t 192.0.2.100:80 -r 198.51.100.1:8080 -m -w 5',
    '-a -t 192.0.2.100:80 -r 198.51.100.2:80 -g -w 0',
    '-a -t 192.0.2.100:80 -r 198.51.100.3:80 -i -w 1 --tun-type ipip',
    '-a -t 192.0.2.100:80 -r 198.51.100.4:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum',
    '-a -t 192.0.2.100:80 -r 198.51.100.5:80 -i -w 1 --tun-type gre --tun-csum',
    '-a -u [2001:db8::100]:53 -r [2001:db8::10]:53 -m -w 2',
    '-a -u [2001:db8::100]:53 -r [2001:db8::11]:53 -g -w 3',
    '-a --sctp-service 192.0.2.103:9 -r 198.51.100.6:9 -m -w 1',
    '-a -f 7 -r 198.51.100.7:0 -g -w 1',
    '-a -f 8 -6 -r [2001:db8::12]:0 -g -w 1',
  ].sort();

  await check('apply adds every kind of service and dest; ipvsadm -Sn shows exactly them', async () => {
    const ops: IpvsOp[] = [...services.map((s): IpvsOp => ({ op: 'addService', service: s })), ...dests.map(([key, d]): IpvsOp => ({ op: 'addDest', key, dest: d }))];
    assert.deepEqual(await both(ops), ops.map(() => 'ok'));
    assert.deepEqual(saved(), expectedSave);
    assert.match(ipvsadm('-Ln', '--thresholds'), /-> 198\.51\.100\.1:8080 +100 +10 /);
  });

  await check('the dumps read back what was added', async () => {
    const got = (await ipvs.services()).map(({ stats, ...s }) => {
      assert.ok(stats);
      return s;
    });
    const id = (k: ServiceKey): string => JSON.stringify(k);
    assert.deepEqual(new Set(got.map((s) => JSON.stringify(s))), new Set(services.map((s) => JSON.stringify(s))));
    for (const s of services) {
      const want = dests.filter(([k]) => id(k) === id(s.key)).map(([, d]) => JSON.stringify(d));
      const have = (await ipvs.dests(s.key)).map(({ stats, ...d }) => {
        assert.ok(stats);
        return JSON.stringify(d);
      });
      assert.deepEqual(new Set(have), new Set(want), `dests of ${id(s.key)}`);
    }
    assert.deepEqual(await ipvs.services().then((l) => l.length), (await fake.services()).length);
  });

  await check('editDest changes the weight, editService the scheduler and persistence', async () => {
    await ipvs.editDest(WEB, dest('198.51.100.1', 8080, { weight: 9, upperThreshold: 100, lowerThreshold: 10 }));
    await fake.editDest(WEB, dest('198.51.100.1', 8080, { weight: 9, upperThreshold: 100, lowerThreshold: 10 }));
    await ipvs.editService(svc(WEB, 'rr', { flags: { ...noFlags, persistent: true }, timeoutS: 120, netmask: 24 }));
    const s = saved();
    assert.ok(s.includes('-a -t 192.0.2.100:80 -r 198.51.100.1:8080 -m -w 9'), s.join('\n'));
    assert.ok(s.includes('-A -t 192.0.2.100:80 -s rr -p 120 -M 255.255.255.0'), s.join('\n'));
    await ipvs.editService(svc(WEB, 'wlc'));
    assert.ok(saved().includes('-A -t 192.0.2.100:80 -s wlc'));
  });

  await check('kernel refusals are typed IpvsErrors, and FakeIpvs gives the same codes', async () => {
    const ghost: ServiceKey = { family: 4, protocol: 'TCP', address: '192.0.2.99', port: 80 };
    const k = await both([
      { op: 'addService', service: svc(WEB, 'wlc') },
      { op: 'addDest', key: WEB, dest: dest('198.51.100.2', 80) },
      { op: 'delDest', key: WEB, dest: { address: '198.51.100.99', port: 80 } },
      { op: 'editDest', key: WEB, dest: dest('198.51.100.99', 80) },
      { op: 'delService', key: ghost },
      { op: 'editService', service: svc(ghost, 'rr') },
      { op: 'addDest', key: ghost, dest: dest('198.51.100.1', 80) },
      { op: 'addService', service: svc({ family: 4, protocol: 'TCP', address: '192.0.2.98', port: 80 }, 'nosuch') },
      { op: 'addDest', key: WEB, dest: dest('198.51.100.98', 80, { upperThreshold: 5, lowerThreshold: 10 }) },
      { op: 'addDest', key: WEB, dest: dest('198.51.100.97', 80, { weight: -1 }) },
      { op: 'addService', service: svc({ family: 6, fwmark: 9 }, 'rr', { flags: { ...noFlags, persistent: true }, timeoutS: 60, netmask: 129 }) },
    ]);
    assert.deepEqual(k, ['EEXIST', 'EEXIST', 'ENOENT', 'ENOENT', 'ESRCH', 'ESRCH', 'ESRCH', 'ENOENT', 'ERANGE', 'ERANGE', 'EINVAL']);
    await assert.rejects(ipvs.addDest(WEB, dest('198.51.100.2', 80)), (e: Error & { code?: string; command?: string }) => {
      assert.equal(e.name, 'IpvsError');
      assert.equal(e.code, 'EEXIST');
      assert.equal(e.command, 'IPVS_CMD_NEW_DEST');
      assert.match(e.message, /^adding dest 198\.51\.100\.2:80 to TCP 192\.0\.2\.100:80: EEXIST/);
      return true;
    });
    // The kernel's GET_DEST dump of a missing service is empty, not an error.
    assert.deepEqual(await ipvs.dests(ghost), []);
    assert.deepEqual(await fake.dests(ghost), []);
    assert.deepEqual(saved().filter((l) => l.includes('198.51.100.9') || l.includes('192.0.2.9')), []);
  });

  await check('sync daemons start, show in ipvsadm -L --daemon, and stop', async () => {
    await ipvs.startDaemon({ state: 'master', ifname: 'dummy0', syncId: 5 });
    await ipvs.startDaemon({ state: 'backup', ifname: 'dummy0', syncId: 6, syncMaxLen: 1400, mcastGroup: '239.0.0.81', mcastPort: 8850, mcastTtl: 2 });
    const shown = ipvsadm('-L', '--daemon');
    assert.match(shown, /master sync daemon \(mcast=dummy0, syncid=5,/);
    assert.match(shown, /backup sync daemon \(mcast=dummy0, syncid=6, maxlen=1400, group=239\.0\.0\.81, port=8850, ttl=2\)/);
    const ds = await ipvs.daemons();
    assert.deepEqual(ds.find((d) => d.state === 'backup'), { state: 'backup', ifname: 'dummy0', syncId: 6, syncMaxLen: 1400, mcastGroup: '239.0.0.81', mcastPort: 8850, mcastTtl: 2 });
    assert.equal(ds.find((d) => d.state === 'master')?.syncId, 5);
    await assert.rejects(ipvs.startDaemon({ state: 'master', ifname: 'dummy0', syncId: 5 }), { code: 'EEXIST' });
    await ipvs.stopDaemon('master');
    assert.doesNotMatch(ipvsadm('-L', '--daemon'), /master/);
    await assert.rejects(ipvs.stopDaemon('master'), { code: 'ESRCH' });
    await ipvs.stopDaemon('backup');
    assert.deepEqual(await ipvs.daemons(), []);
  });

  await check('timeouts are set and read back; ipvsadm agrees', async () => {
    await ipvs.setTimeouts({ tcp: 901, tcpFin: 121, udp: 301 });
    assert.deepEqual(await ipvs.timeouts(), { tcp: 901, tcpFin: 121, udp: 301 });
    assert.match(ipvsadm('-L', '--timeout'), /Timeout \(tcp tcpfin udp\): 901 121 301/);
    await ipvs.setTimeouts({ tcp: 0, tcpFin: 0, udp: 302 });
    assert.deepEqual(await ipvs.timeouts(), { tcp: 901, tcpFin: 121, udp: 302 });
  });

  await check('delDest and delService remove exactly what they name', async () => {
    await ipvs.delDest(WEB, { address: '198.51.100.2', port: 80 });
    await ipvs.delService(SCTP);
    const s = saved();
    assert.ok(!s.some((l) => l.includes('198.51.100.2:80')), s.join('\n'));
    assert.ok(!s.some((l) => l.includes('192.0.2.103')), s.join('\n'));
    assert.equal(s.length, expectedSave.length - 3);
  });

  const N_SVC = 10;
  const N_DEST = 1000;
  await check(`apply programs ${N_SVC * N_DEST + N_SVC} objects in windows and ipvsadm counts them`, async () => {
    const ops: IpvsOp[] = [];
    for (let i = 0; i < N_SVC; i++) {
      const key: ServiceKey = { family: 4, protocol: 'TCP', address: '203.0.113.1', port: 2000 + i };
      ops.push({ op: 'addService', service: svc(key, 'wrr') });
      for (let j = 0; j < N_DEST; j++) ops.push({ op: 'addDest', key, dest: dest(`198.51.${100 + (j >> 8)}.${j & 0xff}`, 8000 + i, { weight: 1 + (j % 7) }) });
    }
    let maxLag = 0;
    let last = performance.now();
    const tick = setInterval(() => {
      const now = performance.now();
      maxLag = Math.max(maxLag, now - last - 5);
      last = now;
    }, 5);
    const t0 = performance.now();
    const rs = await ipvs.apply(ops);
    const ms = performance.now() - t0;
    clearInterval(tick);
    assert.equal(rs.filter((r) => !r.ok).length, 0);
    console.log(`# ${ops.length} ops in ${ms.toFixed(0)} ms (${((ops.length / ms) * 1000).toFixed(0)} ops/s), longest event-loop stall ${maxLag.toFixed(0)} ms`);
    const listed = ipvsadm('-Ln').split('\n');
    assert.equal(listed.filter((l) => /^TCP {2}203\.0\.113\.1:/.test(l)).length, N_SVC);
    assert.equal(listed.filter((l) => /-> 198\.51\.\d+\.\d+:800\d /.test(l)).length, N_SVC * N_DEST);
    const d = await ipvs.dests({ family: 4, protocol: 'TCP', address: '203.0.113.1', port: 2003 });
    assert.equal(d.length, N_DEST);
  });

  await check('flush empties the table', async () => {
    await ipvs.flush();
    assert.deepEqual(saved(), []);
    assert.deepEqual(await ipvs.services(), []);
  });

  await check('close makes later calls fail with IpvsClosedError', async () => {
    ipvs.close();
    await assert.rejects(ipvs.services(), { name: 'IpvsClosedError' });
  });
  return failures;
}

if (require.main === module) {
  driver().then(
    (f) => process.exit(f === 0 ? 0 : 1),
    (e: Error) => {
      console.log(`not ok - driver crashed: ${e.stack ?? String(e)}`);
      process.exit(1);
    },
  );
} else {
  describe('IpvsClient against Linux IPVS in the VM (ipvsadm as oracle)', function () {
    this.timeout(600_000);
    it('passes every check of scenario ipvs-netlink', async () => {
      const { runScenariosInVm } = await import('./vm');
      const t0 = Date.now();
      const r = await runScenariosInVm(['ipvs-netlink'], { timeoutMs: 540_000, scenarioTimeoutS: 420 });
      const sc = r.scenarios[0];
      assert.ok(sc, `no scenario output; console tail:\n${r.console.slice(-3000)}`);
      const lines = sc.output.split('\n');
      const oks = lines.filter((l) => l.startsWith('ok - '));
      const fails = lines.filter((l) => l.startsWith('not ok - '));
      console.log(`      VM: boot ${r.bootMs} ms, total ${Date.now() - t0} ms; ${oks.length} checks passed`);
      for (const l of lines.filter((x) => x.startsWith('#'))) console.log(`      ${l}`);
      assert.equal(sc.exitCode, 0, `scenario failed (exit ${sc.exitCode}):\n${sc.output}`);
      assert.deepEqual(fails, []);
      assert.equal(oks.length, 11, `expected 11 checks, output:\n${sc.output}`);
    });
  });
}
