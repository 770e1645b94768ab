import * as assert from 'node:assert/strict';
import { scenarioOf, values } from './scenario-output';
import { runScenariosInVm, ScenarioResult, ScenariosRunResult } from './vm';

// The whole daemon as one director, end to end, on a real IPVS kernel: `bin/lvsd` runs in a
// director namespace of the VM (VRRP alone becomes master and holds the VIP, the forked checker
// runs the health checks, the reconciler programs IPVS over netlink), and each scenario judges it
// with independent oracles: ipvsadm (-Sn/-Ln/-Lnc/--stats), real HTTP requests with curl to
// busybox httpd real servers, and tcpdump for who answered. All eight scenarios share ONE boot
// (test/vm/scenarios/e2e-*.sh, helpers in test/vm/e2e/lib.sh); they print raw facts and the
// assertions below judge them. A VM that cannot boot fails every test with the test bed's reason.
//
// Needs `npx tsc -p .` first (the guest runs this checkout's dist/).
// Cold programming at scale (e2e-scale.sh) is a measurement, not a test: `npm run bench -- ipvs-program`.
const SCENARIOS = ['e2e-nat', 'e2e-dr', 'e2e-tun', 'e2e-health', 'e2e-reload', 'e2e-audit', 'e2e-restart'] as const;

/** Slack on top of keepalived's budgets, for software emulation on a loaded 2-core machine. */
const SLACK_MS = 3000;

describe('VM end to end: lvsd as one director on a real IPVS kernel', function () {
  this.timeout(4_000_000);
  let run: ScenariosRunResult | undefined;
  let runError: unknown;

  before(async function () {
    try {
      run = await runScenariosInVm(SCENARIOS, { timeoutMs: 3_600_000, scenarioTimeoutS: 600 });
      process.stdout.write(`      (kernel ${run.kernelVersion}: boot ${run.bootMs} ms, whole run ${run.totalMs} ms; ` +
        `${run.scenarios.map((s) => `${s.name} ${s.ms} ms`).join(', ')})\n`);
    } catch (e) {
      runError = e;
    }
  });

  /** The scenario's result; throws the boot failure, or when the scenario did not exit 0. */
  function scenario(name: (typeof SCENARIOS)[number]): ScenarioResult {
    if (runError) throw runError;
    assert.ok(run, 'the VM run did not happen');
    return scenarioOf(run, name);
  }

  /** The one value of `KEY value`; fails (with the scenario's output) when absent or repeated. */
  function value(s: ScenarioResult, key: string): string {
    const v = values(s, key);
    assert.equal(v.length, 1, `expected one "${key}" line in ${s.name}, saw ${v.length}:\n${s.output}`);
    return v[0];
  }

  /** A measured time in ms (`KEY n`); a `KEY_NEVER`-style line fails with the output. */
  function ms(s: ScenarioResult, key: string): number {
    const n = Number(value(s, key));
    assert.ok(Number.isInteger(n) && n >= 0, `${key} is not a time in ms: ${values(s, key).join(',')}\n${s.output}`);
    return n;
  }

  /** Lines of the block `=== NAME` … `=== end`. */
  function block(s: ScenarioResult, name: string): string[] {
    const lines = s.output.split('\n');
    const start = lines.indexOf(`=== ${name}`);
    assert.ok(start >= 0, `no block "${name}" in ${s.name}:\n${s.output}`);
    const end = lines.indexOf('=== end', start);
    assert.ok(end > start, `block "${name}" in ${s.name} has no end`);
    return lines.slice(start + 1, end);
  }

  /** Bodies of the ANSWER lines after the `STEP step` line (or from the start) up to the next STEP. */
  function answers(s: ScenarioResult, step?: string): string[] {
    const lines = s.output.split('\n');
    let i = step === undefined ? 0 : lines.indexOf(`STEP ${step}`) + 1;
    assert.ok(i > 0 || step === undefined, `no STEP ${step} in ${s.name}`);
    const out: string[] = [];
    for (; i < lines.length && !(step !== undefined && lines[i].startsWith('STEP ')); i++) {
      if (lines[i].startsWith('ANSWER ')) out.push(lines[i].slice(7));
    }
    return out;
  }

  /** Explains a failed assertion with the scenario's whole output (lvsd's log and tables are in it). */
  function why(s: ScenarioResult, what: string): string {
    return `${what}\n--- ${s.name} output:\n${s.output}`;
  }

  /** `ipvsadm -Ln --stats` numbers of the line starting with `prefix`: [conns, inPkts, outPkts, inBytes, outBytes]. */
  function statsOf(s: ScenarioResult, prefix: RegExp): number[] {
    const line = block(s, 'stats').find((l) => prefix.test(l));
    assert.ok(line, why(s, `no stats line ${prefix}`));
    return line.trim().split(/\s+/).slice(-5).map(Number);
  }

  const sorted = (xs: readonly string[]): string[] => [...xs].sort();

  describe('LVS-NAT (e2e-nat.sh)', () => {
    it('programs exactly the configured table: wrr, both real servers masqueraded with weights 1 and 3', () => {
      const s = scenario('e2e-nat');
      assert.deepEqual(values(s, 'TABLE_NEVER_MATCHED'), [], why(s, 'the table never matched'));
      assert.deepEqual(block(s, 'ipvsadm -Sn'), sorted([
        '-A -t 192.0.2.100:80 -s wrr',
        '-a -t 192.0.2.100:80 -r 198.51.100.11:80 -m -w 1',
        '-a -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w 3',
      ]), why(s, 'ipvsadm -Sn differs from the configuration'));
      const ln = block(s, 'ipvsadm -Ln').join('\n');
      assert.match(ln, /^TCP {2}192\.0\.2\.100:80 wrr\s*$/m, why(s, 'service line'));
      assert.match(ln, /^ {2}-> 198\.51\.100\.11:80 +Masq +1 +\d+ +\d+/m, why(s, 'rs1 line'));
      assert.match(ln, /^ {2}-> 198\.51\.100\.12:80 +Masq +3 +\d+ +\d+/m, why(s, 'rs2 line'));
      process.stdout.write(`      (lvsd exec → VIP held: ${ms(s, 'MASTER_MS')} ms; then table equal after ${ms(s, 'TABLE_MS')} ms)\n`);
    });

    it('holds the VIP through its own VRRP election (BACKUP → MASTER on the down timer)', () => {
      const s = scenario('e2e-nat');
      const log = block(s, 'lvsd log').join('\n');
      assert.match(log, /VI_1: INIT -> BACKUP /, why(s, 'no INIT -> BACKUP'));
      assert.match(log, /VI_1: BACKUP -> MASTER .*reason="master down timer expired/, why(s, 'no BACKUP -> MASTER'));
    });

    it('answers requests through the VIP from both real servers in the weights\' ratio (2 and 6 of 8), as the kernel counted', () => {
      const s = scenario('e2e-nat');
      const a = answers(s);
      assert.equal(a.length, 8, why(s, 'eight answers expected'));
      assert.equal(a.filter((x) => x === 'rs1').length, 2, why(s, `answers ${a.join(',')}`));
      assert.equal(a.filter((x) => x === 'rs2').length, 6, why(s, `answers ${a.join(',')}`));
      assert.equal(statsOf(s, /^TCP +192\.0\.2\.100:80 /)[0], 8, why(s, 'service conns'));
      assert.equal(statsOf(s, /-> 198\.51\.100\.11:80 /)[0], 2, why(s, 'rs1 conns'));
      assert.equal(statsOf(s, /-> 198\.51\.100\.12:80 /)[0], 6, why(s, 'rs2 conns'));
    });
  });

  /** Shared judgement of DR and TUN: replies come from the real servers' MACs, the director sees inbound only. */
  function judgeDirectReturn(s: ScenarioResult, service: RegExp): void {
    const a = answers(s);
    assert.equal(a.length, 4, why(s, 'four answers expected'));
    assert.deepEqual([...new Set(a)].sort(), ['rs1', 'rs2'], why(s, `answers ${a.join(',')}`));
    const macs = new Map(values(s, 'MAC').map((v) => v.split(' ') as [string, string]));
    const seen = values(s, 'REPLY_MAC');
    assert.ok(Number(value(s, 'CAPTURED')) > 0, why(s, 'tcpdump captured no reply'));
    assert.deepEqual(sorted(seen), sorted([macs.get('rs1')!, macs.get('rs2')!]), why(s, 'reply source MACs must be exactly the real servers\''));
    assert.ok(!seen.includes(macs.get('director')!), why(s, 'a reply came from the director'));
    const [conns, inPkts, outPkts] = statsOf(s, service);
    assert.equal(conns, 4, why(s, 'service conns'));
    assert.ok(inPkts > 0, why(s, 'the director forwarded no inbound packet'));
    assert.equal(outPkts, 0, why(s, 'the director saw reply packets'));
  }

  describe('LVS-DR (e2e-dr.sh)', () => {
    it('programs the table with Route forwarding', () => {
      const s = scenario('e2e-dr');
      assert.deepEqual(values(s, 'TABLE_NEVER_MATCHED'), [], why(s, 'the table never matched'));
      assert.deepEqual(block(s, 'ipvsadm -Sn'), sorted([
        '-A -t 192.0.2.100:80 -s rr',
        '-a -t 192.0.2.100:80 -r 192.0.2.11:80 -g -w 1',
        '-a -t 192.0.2.100:80 -r 192.0.2.12:80 -g -w 2',
      ]), why(s, 'ipvsadm -Sn differs from the configuration'));
      const ln = block(s, 'ipvsadm -Ln').join('\n');
      assert.match(ln, /^ {2}-> 192\.0\.2\.11:80 +Route +1 /m, why(s, 'rs1 Route'));
      assert.match(ln, /^ {2}-> 192\.0\.2\.12:80 +Route +2 /m, why(s, 'rs2 Route'));
    });

    it('lets the real servers answer the client directly (their MACs; the director counts inbound only)', () => {
      judgeDirectReturn(scenario('e2e-dr'), /^TCP +192\.0\.2\.100:80 /);
    });
  });

  describe('LVS-TUN (e2e-tun.sh)', () => {
    it('programs the table with Tunnel (ipip) forwarding', () => {
      const s = scenario('e2e-tun');
      assert.deepEqual(values(s, 'TABLE_NEVER_MATCHED'), [], why(s, 'the table never matched'));
      assert.deepEqual(block(s, 'ipvsadm -Sn'), sorted([
        '-A -t 198.51.100.100:80 -s rr',
        '-a -t 198.51.100.100:80 -r 192.0.2.11:80 -i -w 1 --tun-type ipip',
        '-a -t 198.51.100.100:80 -r 192.0.2.12:80 -i -w 1 --tun-type ipip',
      ]), why(s, 'ipvsadm -Sn differs from the configuration'));
      const ln = block(s, 'ipvsadm -Ln').join('\n');
      assert.match(ln, /^ {2}-> 192\.0\.2\.11:80 +Tunnel +1 /m, why(s, 'rs1 Tunnel'));
      assert.match(ln, /^ {2}-> 192\.0\.2\.12:80 +Tunnel +1 /m, why(s, 'rs2 Tunnel'));
    });

    it('has the replies go from the real servers through the router, not through the director', () => {
      judgeDirectReturn(scenario('e2e-tun'), /^TCP +198\.51\.100\.100:80 /);
    });
  });

  describe('health drives the table (e2e-health.sh: TCP_CHECK, delay_loop 1, retry 0, connect_timeout 1, rise 2)', () => {
    const rs1 = '-a -t 192.0.2.100:80 -r 198.51.100.11:80 -m -w 1';
    const rs2 = (w: number): string => `-a -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w ${w}`;
    const svc = '-A -t 192.0.2.100:80 -s rr';

    it('removes a killed real server within fall × delay_loop + connect_timeout, and stops sending it requests', () => {
      const s = scenario('e2e-health');
      const budget = ms(s, 'BUDGET_MS');
      const t = ms(s, 'RS1_DOWN_MS');
      process.stdout.write(`      (rs1 killed → out of ipvsadm -Ln in ${t} ms; budget ${budget} ms + ${SLACK_MS} ms slack; keepalived 1500-2100 ms)\n`);
      assert.ok(t <= budget + SLACK_MS, why(s, `took ${t} ms`));
      assert.deepEqual(block(s, 'table rs1 down'), sorted([svc, rs2(1)]), why(s, 'table while rs1 is down'));
      const a = answers(s, 'rs1-down');
      assert.deepEqual(a, ['rs2', 'rs2', 'rs2', 'rs2'], why(s, 'requests while rs1 is down'));
      assert.match(block(s, 'lvsd log').join('\n'), /real server DOWN .*vs=web rs=rs1 .*address=\[198\.51\.100\.11\]:tcp:80/, why(s, 'no DOWN log line'));
    });

    it('puts it back after rise (2) successes once its httpd is back', () => {
      const s = scenario('e2e-health');
      const t = ms(s, 'RS1_UP_MS');
      process.stdout.write(`      (rs1 restarted → back in ${t} ms; keepalived 1500-2400 ms with rise 1)\n`);
      // Two successes one delay_loop apart cannot take less than about one delay_loop.
      assert.ok(t >= 800, why(s, `back after ${t} ms: sooner than two checks 1 s apart allow`));
      assert.ok(t <= 2 * 1000 + 1000 + SLACK_MS, why(s, `took ${t} ms`));
      assert.deepEqual(block(s, 'table rs1 up'), sorted([svc, rs1, rs2(1)]), why(s, 'table after rs1 returned'));
    });

    it('with inhibit_on_failure sets the weight to 0 instead (no new requests), and back to 1', () => {
      const s = scenario('e2e-health');
      const down = ms(s, 'RS2_DOWN_MS');
      const up = ms(s, 'RS2_UP_MS');
      process.stdout.write(`      (rs2 killed → weight 0 in ${down} ms; restarted → weight 1 in ${up} ms)\n`);
      assert.ok(down <= ms(s, 'BUDGET_MS') + SLACK_MS, why(s, `took ${down} ms`));
      assert.deepEqual(block(s, 'table rs2 down'), sorted([svc, rs1, rs2(0)]), why(s, 'table while rs2 is down'));
      assert.deepEqual(answers(s, 'rs2-down'), ['rs1', 'rs1', 'rs1', 'rs1'], why(s, 'requests while rs2 is down'));
      assert.deepEqual(block(s, 'table rs2 up'), sorted([svc, rs1, rs2(1)]), why(s, 'table after rs2 returned'));
    });
  });

  describe('reload by difference (e2e-reload.sh)', () => {
    it('changes only the edited real server\'s weight: ipvsadm -Sn differs by exactly that line', () => {
      const s = scenario('e2e-reload');
      const changed = value(s, 'CHANGED');
      assert.deepEqual(values(s, 'RELOAD_NEVER'), [], why(s, 'the new weight never reached the kernel'));
      assert.equal(value(s, 'RELOAD_EXIT'), '0', why(s, 'lvsctl reload failed'));
      const before = block(s, 'Sn before');
      const after = block(s, 'Sn after');
      const gone = before.filter((l) => !after.includes(l));
      const added = after.filter((l) => !before.includes(l));
      assert.deepEqual(gone, [`-a -t 192.0.2.100:80 -r ${changed} -m -w 1`], why(s, 'lines that left'));
      assert.deepEqual(added, [`-a -t 192.0.2.100:80 -r ${changed} -m -w 5`], why(s, 'lines that came'));
      process.stdout.write(`      (lvsctl reload → weight in the kernel: ${ms(s, 'RELOAD_MS')} ms, lvsctl's node start included)\n`);
    });

    it('made one kernel change, logged as one edit', () => {
      const s = scenario('e2e-reload');
      const log = block(s, 'lvsd log');
      const afterStart = log.slice(log.findIndex((l) => l.includes('lvsd started') && !/process=(director|vrrp)/.test(l)));
      const ops = afterStart.filter((l) => /ipvs: (add|edit|delete) /.test(l));
      assert.equal(ops.length, 1, why(s, `ipvs ops after the reload: ${ops.join(' | ')}`));
      assert.match(ops[0], new RegExp(`ipvs: edit dest ${value(s, 'CHANGED').replace(/\./g, '\\.')} NAT weight 5 `), why(s, 'the op'));
    });

    it('keeps the established download\'s connection and counters, and the download completes', () => {
      const s = scenario('e2e-reload');
      assert.equal(value(s, 'CONN_KEPT'), 'yes', why(s, 'the connection left ipvsadm -Lnc'));
      const rs = value(s, 'DL_RS').replace(/\./g, '\\.');
      const active = (name: string): string => {
        const l = block(s, name).find((x) => new RegExp(`-> ${rs} `).test(x));
        assert.ok(l, why(s, `no ${value(s, 'DL_RS')} line in ${name}`));
        return l.trim().split(/\s+/)[4];
      };
      assert.equal(active('Ln before'), '1', why(s, 'ActiveConn before'));
      assert.equal(active('Ln after'), '1', why(s, 'ActiveConn after'));
      assert.equal(value(s, 'DOWNLOAD_EXIT'), '0', why(s, 'curl failed'));
      assert.equal(value(s, 'DOWNLOAD'), 'http=200 size=3000000', why(s, 'download result'));
    });
  });

  describe('the audit repairs drift (e2e-audit.sh, audit_interval = 2)', () => {
    it('removes a hand-added real server and restores a hand-edited weight within two audit periods', () => {
      const s = scenario('e2e-audit');
      // The hand-made service shows ipvsadm -R ran; whether the listing caught the drift before
      // an audit did is a race, so the repair log lines (next test) are the proof lvsd saw it.
      assert.ok(block(s, 'Sn drifted').includes('-A -t 192.0.2.200:80 -s rr'), why(s, 'the drift was not made'));
      assert.deepEqual(values(s, 'REPAIR_NEVER'), [], why(s, 'the table was never repaired'));
      const t = ms(s, 'REPAIR_MS');
      process.stdout.write(`      (drift → repaired in ${t} ms)\n`);
      assert.ok(t <= 2 * 2000 + SLACK_MS, why(s, `repair took ${t} ms`));
      const want = sorted([
        '-A -t 192.0.2.100:80 -s rr',
        '-a -t 192.0.2.100:80 -r 198.51.100.11:80 -m -w 1',
        '-a -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w 1',
        '-A -t 192.0.2.200:80 -s rr',
        '-a -t 192.0.2.200:80 -r 198.51.100.11:80 -m -w 3',
      ]);
      assert.deepEqual(block(s, 'Sn repaired'), want, why(s, 'table after repair'));
      assert.deepEqual(block(s, 'Sn later'), want, why(s, 'table one audit later'));
    });

    it('logs each repair, and never touches the service it does not manage', () => {
      const s = scenario('e2e-audit');
      const log = block(s, 'lvsd log').join('\n');
      assert.match(log, /ipvs repaired: delete dest 198\.51\.100\.13:80 from TCP 192\.0\.2\.100:80/, why(s, 'no repair line for the hand-added dest'));
      assert.match(log, /ipvs repaired: edit dest 198\.51\.100\.11:80 NAT weight 1 of TCP 192\.0\.2\.100:80/, why(s, 'no repair line for the weight'));
      assert.doesNotMatch(log, /192\.0\.2\.200/, why(s, 'lvsd touched the unmanaged service'));
    });
  });

  describe('restart keeps established connections (e2e-restart.sh)', () => {
    it('leaves the table and the connection in the kernel while stopped (lvs_flush_onstop none)', () => {
      const s = scenario('e2e-restart');
      assert.equal(value(s, 'LVSD_EXIT'), '0', why(s, 'lvsd exit status on SIGTERM'));
      assert.deepEqual(block(s, 'Sn stopped'), block(s, 'Sn before'), why(s, 'the table changed when lvsd stopped'));
      assert.equal(value(s, 'CONN_KEPT_STOPPED'), 'yes', why(s, 'the connection left ipvsadm -Lnc'));
      assert.equal(value(s, 'VIP_WHILE_STOPPED'), '0', why(s, 'the stopped lvsd left its VIP behind'));
    });

    it('adopts the table when started again: no kernel change, the connection kept, the download completes', () => {
      const s = scenario('e2e-restart');
      assert.deepEqual(block(s, 'Sn restarted'), block(s, 'Sn before'), why(s, 'the table changed across the restart'));
      assert.equal(value(s, 'DL_RUNNING_AT_CHECK'), 'yes', why(s, 'the download ended before the check: the test bed was slower than the download is long'));
      assert.equal(value(s, 'CONN_KEPT_RESTARTED'), 'yes', why(s, 'the connection left ipvsadm -Lnc'));
      const log = block(s, 'lvsd log');
      const starts = log.map((l, i) => (l.startsWith('### lvsd start') ? i : -1)).filter((i) => i >= 0);
      assert.equal(starts.length, 2, why(s, 'two lvsd runs expected'));
      const second = log.slice(starts[1]).filter((l) => /ipvs: (add|edit|delete) /.test(l));
      assert.deepEqual(second, [], why(s, 'the second run changed the kernel table'));
      assert.equal(value(s, 'DOWNLOAD_EXIT'), '0', why(s, 'curl failed'));
      assert.equal(value(s, 'DOWNLOAD'), 'http=200 size=6000000', why(s, 'download result'));
      process.stdout.write(`      (SIGTERM → restarted lvsd holds the VIP again: ${ms(s, 'RESTART_MS')} ms)\n`);
    });
  });
});
