import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { type DemoRun, runDemo } from '../lib/demo-run';

/**
 * `npm run demo` on this host, whose kernel has no IPVS, in the three IPVS modes: runs
 * dist/test/demo/demo.js --mode all as a child process, which boots the VM test bed once and
 * tells the LVS-NAT, LVS-DR and LVS-TUN stories in it one after the other (scenarios
 * demo-nat, demo-dr, demo-tun), relaying the guest's console. The story is judged from what
 * the demo printed: requests served by each real server, the failed real server gone from
 * `ipvsadm -Ln` and no longer serving, the takeover with requests continuing, the timeline's
 * MASTER transitions from lvsctl events, and the cleanup (the demo's qemu gone, its run
 * directory gone). A second run is stopped with SIGTERM once the guest is up, and must leave
 * nothing behind either. Needs root, qemu and the VM assets (test/vm/README.md); fails, never
 * skips, without them.
 */
const MODES = ['nat', 'dr', 'tun'] as const;
/** Each real server's address:port, per mode (test/demo/ipvs-cluster.ts). */
const REAL_ADDR: Record<(typeof MODES)[number], Record<'rs1' | 'rs2' | 'rs3', string>> = {
  nat: { rs1: '198.51.100.21:80', rs2: '198.51.100.22:80', rs3: '198.51.100.23:80' },
  dr: { rs1: '192.0.2.21:80', rs2: '192.0.2.22:80', rs3: '192.0.2.23:80' },
  tun: { rs1: '192.0.2.21:80', rs2: '192.0.2.22:80', rs3: '192.0.2.23:80' },
};

/** A demo run, with the qemu processes seen as the demo's children while it ran (and their run script). */
interface DemoVmRun extends DemoRun {
  qemu: Map<number, string>;
}

/** qemu children of `pid`, each with its `lvsd.run=` entry script (from its command line). */
function qemuChildren(pid: number): Map<number, string> {
  const found = new Map<number, string>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid || !stat.includes('(qemu-system')) continue;
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      found.set(Number(name), /lvsd\.run=(\S+)/.exec(cmd)?.[1] ?? '');
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

/** Runs the demo (see {@link runDemo}), noting its qemu children every 500 ms. */
async function runDemoVm(args: string[], timeoutMs: number, onStdout?: (text: string, kill: (s: NodeJS.Signals) => void) => void): Promise<DemoVmRun> {
  const qemu = new Map<number, string>();
  const r = await runDemo(args, timeoutMs, onStdout, (child) => {
    const watch = setInterval(() => {
      for (const [p, run] of qemuChildren(child.pid!)) qemu.set(p, run);
    }, 500);
    return () => clearInterval(watch);
  });
  return { ...r, qemu };
}

/** True while process `pid` exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Asserts the demo's qemu and its run directory are gone. */
function assertNothingLeft(r: DemoVmRun, why: string): void {
  assert.ok(r.qemu.size > 0, `the demo's qemu was seen while it ran${why}`);
  for (const [pid, run] of r.qemu) {
    assert.ok(!alive(pid), `qemu ${pid} is gone after the demo${why}`);
    assert.ok(run !== '' && !existsSync(path.dirname(run)), `the run directory ${path.dirname(run)} is removed${why}`);
  }
}

/** The lines of `text` from the first matching `from` to (not including) the first later `to`. */
function section(lines: readonly string[], from: RegExp, to?: RegExp): string[] {
  const a = lines.findIndex((l) => from.test(l));
  if (a < 0) return [];
  const rest = lines.slice(a);
  const b = to ? rest.findIndex((l, i) => i > 0 && to.test(l)) : -1;
  return b < 0 ? rest : rest.slice(0, b);
}

describe('npm run demo --mode nat|dr|tun (lvsd driving IPVS, in the VM test bed)', function () {
  this.timeout(2_400_000);
  let run: DemoVmRun;
  let why: string;

  before(async function () {
    if (process.getuid?.() !== 0) throw new Error('the VM demo needs root (CI runs as root)');
    run = await runDemoVm(['--mode', 'all'], 2_200_000);
    why = `\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
    const timing = /^vm: powered off\. (.*)$/m.exec(run.stdout)?.[1] ?? 'no timing line';
    process.stdout.write(`      (demo --mode all: ${(run.ms / 1000).toFixed(1)} s on the host; ${timing})\n`);
  });

  it('runs all three stories in one boot, exits 0, and leaves nothing on the host', () => {
    assert.equal(run.code, 0, `the demo exits 0${why}`);
    assert.match(run.stdout, /^this kernel has no IPVS \(CONFIG_IP_VS\): the demo runs inside the VM test bed/m, why);
    assert.equal([...run.stdout.matchAll(/^vm: the guest is up after /gm)].length, 1, `one boot${why}`);
    assert.equal(run.qemu.size, 1, `one qemu${why}`);
    for (const m of MODES) assert.match(run.stdout, new RegExp(`^vm: LVS-${m.toUpperCase()} ended with status 0 after`, 'm'), why);
    assert.match(run.stdout, /^vm: the demo is over \(status 0\); the guest powers off$/m, why);
    assertNothingLeft(run, why);
  });

  for (const mode of MODES) {
    describe(`LVS-${mode.toUpperCase()}`, () => {
      let lines: string[];
      let text: string;
      const addr = REAL_ADDR[mode];
      const idx = (re: RegExp): number => lines.findIndex((l) => re.test(l));
      const count = (re: RegExp, from = 0, to = lines.length): number => lines.slice(from, to).filter((l) => re.test(l)).length;

      before(() => {
        lines = section(run.stdout.split('\n'), new RegExp(`^════ LVS-${mode.toUpperCase()}, inside the VM`), /^(════ LVS-|vm: the demo is over)/);
        text = `\n--- LVS-${mode.toUpperCase()} part of the output\n${lines.join('\n')}\n--- stderr\n${run.stderr}`;
        assert.ok(lines.length > 0, `the LVS-${mode.toUpperCase()} story was printed${why}`);
      });

      it('spreads requests over rs1, rs2 and rs3 while d1 is MASTER', () => {
        const fail = idx(/ rs3 fails: its web server is killed/);
        assert.ok(fail > 0, `the failure is announced${text}`);
        for (const r of ['rs1', 'rs2', 'rs3']) {
          assert.ok(count(new RegExp(`#\\d+ {2}served by ${r} \\(${addr[r as 'rs1'].replace(/:80$/, '').replace(/\./g, '\\.')}\\)`), 0, fail) >= 1, `${r} served before the failure${text}`);
        }
        assert.ok(count(/── VRRP: d1 MASTER · d2 BACKUP$/, 0, fail) >= 1, `d1 MASTER and d2 BACKUP before the failure${text}`);
        const table = section(lines, /^ {9}d1: ipvsadm -Ln$/).slice(1, 9).filter((l) => l.startsWith('         │'));
        for (const r of ['rs1', 'rs2', 'rs3'] as const) assert.ok(table.some((l) => l.includes(`-> ${addr[r]}`)), `d1's first table lists ${r}${text}`);
      });

      it('takes the failed real server out of the table, and it serves no more', () => {
        const gone = idx(new RegExp(`d1's ipvsadm -Ln no longer lists rs3 \\(${addr.rs3.replace(/\./g, '\\.')}\\): (\\d+) ms after the failure`));
        assert.ok(gone > 0, `the removal is announced${text}`);
        const ms = Number(/: (\d+) ms after the failure/.exec(lines[gone]!)![1]);
        // TCP_CHECK every 1 s, retry 0: a few seconds at most, even under emulation.
        assert.ok(ms < 15_000, `rs3 left the table ${ms} ms after the failure${text}`);
        assert.ok(gone > idx(/ rs3 fails: /), `removal after the failure${text}`);
        const table = lines.slice(gone + 1, gone + 9).filter((l) => l.startsWith('         │'));
        assert.ok(table.some((l) => l.includes(`-> ${addr.rs1}`)) && table.some((l) => l.includes(`-> ${addr.rs2}`)), `the table still lists rs1 and rs2${text}`);
        assert.ok(!table.some((l) => l.includes(addr.rs3)), `the table printed after the removal has no rs3${text}`);
        assert.equal(count(/served by rs3/, gone), 0, `rs3 serves nothing after its removal${text}`);
        assert.ok(count(/served by rs[12] /, gone, idx(/ d1 dies /)) >= 6, `requests go on to rs1 and rs2 before the master dies${text}`);
        assert.match(lines.join('\n'), /d1 lvsd: real server DOWN rs3 /, `lvsd logged rs3 DOWN${text}`);
      });

      it('the backup takes over when the master dies, and requests continue through it', () => {
        const kill = idx(/ d1 dies \(SIGSTOP, links down, SIGKILL\)$/);
        assert.ok(kill > 0, `the master's death is announced${text}`);
        const take = idx(/ takeover: d2 MASTER (\d+) ms after the kill, first answer through d2 (\d+) ms after it/);
        assert.ok(take > kill, `the takeover is announced after the kill${text}`);
        const [, master, first] = / takeover: d2 MASTER (\d+) ms after the kill, first answer through d2 (\d+) ms/.exec(lines[take]!)!.map(Number);
        // advert_int 1: Master_Down_Interval 3.61 s for d2, from d1's last advert, which left up to one
        // advert_int before the kill: 2.61 s after it at the earliest; the rest is emulation overhead.
        assert.ok(master! >= 2600 && master! < 20_000, `d2 MASTER ${master} ms after the kill (no priority-0 advert: the box died)${text}`);
        assert.ok(first! >= master! - 1000 && first! < 30_000, `first answer ${first} ms after the kill${text}`);
        assert.ok(count(/── VRRP: d1 not answering · d2 MASTER$/, kill) >= 1, `d2 MASTER after the kill${text}`);
        assert.ok(count(/#\d+ {2}served by rs[12] /, take) >= 6, `requests continue after the takeover${text}`);
        assert.equal(count(/served by rs3/, take), 0, `rs3 is out of d2's table too${text}`);
        const t2 = section(lines, /^ {9}d2: ipvsadm -Ln$/).slice(1, 9).filter((l) => l.startsWith('         │'));
        assert.ok(t2.some((l) => l.includes(`-> ${addr.rs1}`)) && !t2.some((l) => l.includes(addr.rs3)), `d2's table: rs1, no rs3${text}`);
      });

      it('prints the failover timeline with the MASTER transitions of both directors', () => {
        const tl = section(lines, /^failover timeline \(lvsctl events of d1/, /^requests: /);
        assert.ok(tl.length > 3, `a timeline is printed${text}`);
        const rows = (host: string, inst: string, from: string, to: string, after = 0): number =>
          tl.slice(after).filter((l) => new RegExp(`s {2}${host} {2}${inst} +${from} +→ ${to}\\b`).test(l)).length;
        const killRow = tl.findIndex((l) => / ──  d1 dies /.test(l));
        assert.ok(killRow > 0, `the kill is on the timeline${text}`);
        const instances = mode === 'nat' ? ['VI_1', 'VI_GW'] : ['VI_1'];
        for (const inst of instances) {
          assert.ok(rows('d1', inst, 'BACKUP', 'MASTER') >= 1, `d1 ${inst} BACKUP → MASTER${text}`);
          assert.ok(rows('d1', inst, 'BACKUP', 'MASTER', killRow) === 0, `d1 ${inst} no transition after its death${text}`);
          assert.ok(rows('d2', inst, 'BACKUP', 'MASTER', killRow) >= 1, `d2 ${inst} BACKUP → MASTER after the kill${text}`);
        }
        // In a sync group whichever member's timer runs out first moves the others ("sync group: ..."),
        // so the first of d2's takeovers after the kill is the one on its down timer.
        const reason = tl.slice(killRow).find((l) => /d2 {2}VI_\w+ +BACKUP → MASTER/.test(l)) ?? '';
        assert.match(reason, /master down timer expired \(no advert for/, `d2 took over on its down timer${text}`);
        const stamps = tl.map((l) => /^ {2}\+ *([\d.]+)s/.exec(l)).filter((m) => m !== null).map((m) => Number(m[1]));
        assert.deepEqual(stamps, [...stamps].sort((a, b) => a - b), `the timeline is in time order${text}`);
      });

      it('the summary agrees with the live lines, and the namespaces are cleaned up', () => {
        const m = /^requests: (\d+) — served by rs1 (\d+), rs2 (\d+), rs3 (\d+); no answer (\d+)$/m.exec(lines.join('\n'));
        assert.ok(m, `a summary line${text}`);
        const [, sent, r1, r2, r3, none] = m.map(Number);
        assert.equal(r1, count(/#\d+ {2}served by rs1 /), `rs1's count${text}`);
        assert.equal(r2, count(/#\d+ {2}served by rs2 /), `rs2's count${text}`);
        assert.equal(r3, count(/#\d+ {2}served by rs3 /), `rs3's count${text}`);
        assert.equal(none, count(/#\d+ {2}no answer /), `no-answer count${text}`);
        assert.equal(sent, r1! + r2! + r3! + none!, `every request accounted for${text}`);
        assert.ok(idx(/^cleaned up$/) > idx(/^cleaning up: /), `cleaned up${text}`);
      });
    });
  }

  it('stopped with SIGTERM while the guest runs, kills its VM and leaves nothing on the host', async () => {
    let sent = false;
    const r = await runDemoVm(['--mode', 'nat'], 600_000, (out, kill) => {
      if (!sent && /^vm: the guest is up after /m.test(out)) {
        sent = true;
        kill('SIGTERM');
      }
    });
    const w = `\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
    assert.ok(sent, `the guest came up${w}`);
    assert.equal(r.code, 128 + 15, `exit status 143${w}`);
    assert.match(r.stdout, /SIGTERM: stopping\nstopping the VM \(killing qemu\)…\n[\s\S]*VM stopped/, w);
    assert.equal(r.stderr, '', `a signalled demo prints no error${w}`);
    assertNothingLeft(r, w);
  });
});
