import * as assert from 'node:assert/strict';
import { scenarioOf, values } from './scenario-output';
import { runScenariosInVm, ScenarioResult, ScenariosRunResult } from './vm';

// Issue 11.5 on Debian's kernel: a virtual server whose scheduler the kernel lacks (twos) beside
// a healthy one. The refused service fails alone and is retried on its own with a growing delay;
// the healthy service keeps following its health with one write per change, without whole-table
// re-reads; lvsctl shows the error. One boot, one scenario (test/vm/scenarios/e2e-isolation.sh).
// Needs `npx tsc -p .` first (the guest runs this checkout's dist/).

/** Slack on top of the check's budget, for software emulation on a loaded 2-core machine. */
const SLACK_MS = 3000;

describe('VM: a virtual server the kernel refuses fails alone (e2e-isolation.sh)', function () {
  this.timeout(1_800_000);
  let run: ScenariosRunResult | undefined;
  let runError: unknown;

  before(async function () {
    try {
      run = await runScenariosInVm(['e2e-isolation'], { timeoutMs: 1_500_000, scenarioTimeoutS: 600 });
      process.stdout.write(`      (kernel ${run.kernelVersion}: boot ${run.bootMs} ms, whole run ${run.totalMs} ms)\n`);
    } catch (e) {
      runError = e;
    }
  });

  function scenario(): ScenarioResult {
    if (runError) throw runError;
    assert.ok(run, 'the VM run did not happen');
    return scenarioOf(run, 'e2e-isolation');
  }

  function value(s: ScenarioResult, key: string): string {
    const v = values(s, key);
    assert.equal(v.length, 1, `expected one "${key}" line, saw ${v.length}:\n${s.output}`);
    return v[0];
  }

  function block(s: ScenarioResult, name: string): string[] {
    const lines = s.output.split('\n');
    const start = lines.indexOf(`=== ${name}`);
    assert.ok(start >= 0, `no block "${name}":\n${s.output}`);
    const end = lines.indexOf('=== end', start);
    return lines.slice(start + 1, end);
  }

  const why = (s: ScenarioResult, what: string): string => `${what}\n--- output:\n${s.output}`;
  const web = ['-A -t 192.0.2.100:80 -s rr', '-a -t 192.0.2.100:80 -r 198.51.100.11:80 -m -w 1', '-a -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w 1'].sort();

  it('programs the healthy virtual server; the refused one never reaches the kernel', () => {
    const s = scenario();
    assert.deepEqual(block(s, 'table start'), web, why(s, 'table at start'));
    assert.equal(value(s, 'ODD_IN_KERNEL'), 'no', why(s, 'twos cannot be in this kernel'));
  });

  it('the healthy one follows its health incrementally: one write per change, no whole-table retry', () => {
    const s = scenario();
    const down = Number(value(s, 'RS1_DOWN_MS'));
    process.stdout.write(`      (rs1 killed → out of the table in ${down} ms; back in ${value(s, 'RS1_UP_MS')} ms)\n`);
    assert.ok(down <= 2000 + SLACK_MS, why(s, `rs1 down took ${down} ms`));
    assert.deepEqual(block(s, 'table rs1 down'), web.filter((l) => !l.includes('198.51.100.11')), why(s, 'table while rs1 is down'));
    assert.deepEqual(values(s, 'ANSWER'), ['rs2', 'rs2', 'rs2', 'rs2'], why(s, 'requests while rs1 is down'));
    assert.equal(value(s, 'WEB_WRITES_DOWN'), '1', why(s, 'one IPVS write for rs1 going down'));
    assert.deepEqual(block(s, 'table rs1 up'), web, why(s, 'table after rs1 is back'));
    assert.equal(value(s, 'FULL_READ_ERRORS'), '0', why(s, 'no whole-table retry'));
  });

  it('the refused service is retried on its own with a growing delay, and shown by lvsctl', () => {
    const s = scenario();
    const delays = value(s, 'RETRY_IN_MS').trim().split(/\s+/).map(Number);
    process.stdout.write(`      (retries of the refused service announced after ${delays.join(', ')} ms)\n`);
    assert.ok(delays.length >= 3, why(s, `expected at least 3 attempts, saw ${delays.length}`));
    assert.deepEqual(delays.slice(0, 3), [1000, 2000, 4000], why(s, 'backoff 1, 2, 4 s'));
    assert.equal(value(s, 'JSON_ERRORS'), '1', why(s, 'lvsctl --json show services lists the error'));
    assert.ok(Number(value(s, 'SHOW_ERROR_LINES')) >= 2, why(s, 'lvsctl show services marks and lists it'));
    assert.match(block(s, 'lvsd log').join('\n'), /error ipvs: add service TCP 192\.0\.2\.100:81 twos: .*ENOENT.*retried on its own/, why(s, 'first failure logged as an error'));
  });
});
