import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { scenarioOf, values } from './scenario-output';
import { runInVm, runScenariosInVm, scenarioPath, ScenarioResult, ScenariosRunResult, VmError } from './vm';

// Proves the VM test bed gives a real IPVS kernel: one boot runs two guest scenarios
// (test/vm/scenarios/ipvs-capabilities.sh and ipvs-nat.sh), and the assertions below judge
// their raw output. The first run on a machine installs qemu and fetches the kernel
// (~100 MB); later runs use /var/cache/lvsd-vm. Under software emulation on a busy 2-core
// machine the boot alone has taken 10 to 40 s, hence the generous limits.
describe('VM: real IPVS kernel', function () {
  this.timeout(480_000);
  let run: ScenariosRunResult;

  before(async function () {
    const fixture = path.join(path.dirname(scenarioFile()), '..', 'fixtures', 'exit-status.sh');
    run = await runScenariosInVm(['ipvs-capabilities', 'ipvs-nat', fixture], { timeoutMs: 420_000, scenarioTimeoutS: 180 });
    process.stdout.write(`      (kernel ${run.kernelVersion}: boot ${run.bootMs} ms, whole run ${run.totalMs} ms; ` +
      `${run.scenarios.map((s) => `${s.name} ${s.ms} ms`).join(', ')})\n`);
  });

  function scenarioFile(): string {
    return scenarioPath('ipvs-nat');
  }

  function scenario(name: string): ScenarioResult {
    return scenarioOf(run, name);
  }

  describe('the test bed itself', () => {
    it('returns each scenario\'s output, stderr and exit status, and fails the run when one fails', () => {
      const s = run.scenarios.find((x) => x.name === 'exit-status');
      assert.ok(s, run.output);
      assert.equal(s.exitCode, 7);
      assert.equal(s.output, `ENV LVSD_VM=1 KERNEL=${run.kernelVersion}\nto stderr\nno final newline\n`);
      assert.equal(run.exitCode, 1);
      assert.deepEqual(run.scenarios.map((x) => x.name), ['ipvs-capabilities', 'ipvs-nat', 'exit-status']);
      assert.ok(run.bootMs > 0 && run.bootMs < run.totalMs);
    });

    it('refuses a script under /tmp, which the guest cannot see', async () => {
      await assert.rejects(runInVm({ script: '/tmp/x.sh' }), (err: VmError) => err.code === 'VM_BAD_OPTIONS');
    });

    it('kills qemu at the hard timeout and says why', async () => {
      const started = Date.now();
      await assert.rejects(runInVm({ script: scenarioFile(), timeoutMs: 1500 }), (err: VmError) => {
        assert.equal(err.code, 'VM_TIMEOUT');
        assert.match(err.message, /exceeded 1500 ms \(before the guest started the script\); qemu killed/);
        return true;
      });
      assert.ok(Date.now() - started < 60_000);
    });
  });

  describe('kernel capabilities (ipvs-capabilities.sh)', () => {
    it('has IPVS in every network namespace (/proc/net/ip_vs)', () => {
      const s = scenario('ipvs-capabilities');
      assert.deepEqual(values(s, 'PROC_NET_IP_VS'), ['yes']);
      assert.match(values(s, 'IPVS_VERSION')[0], /^IP Virtual Server version \d+\.\d+\.\d+/);
    });

    it('accepts every scheduler keepalived offers, and refuses an unknown one', () => {
      const s = scenario('ipvs-capabilities');
      const sched = new Map(values(s, 'SCHED').map((v) => {
        const [name, verdict] = v.split(' ');
        return [name, verdict] as const;
      }));
      for (const name of ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh', 'fo', 'ovf']) {
        assert.equal(sched.get(name), 'ok', `scheduler ${name}: ${values(s, 'SCHED').join('; ')}`);
      }
      assert.equal(sched.get('bogus'), 'fail', 'an unknown scheduler must be refused');
      // twos exists only in kernels newer than Debian 12's: record, do not require.
      assert.ok(sched.has('twos'));
    });

    it('has ipip for LVS-TUN real servers (tunl0 and a new ipip link)', () => {
      const s = scenario('ipvs-capabilities');
      assert.deepEqual(values(s, 'TUNL0'), ['yes']);
      assert.deepEqual(values(s, 'IPIP_LINK'), ['ok']);
    });
  });

  describe('LVS-NAT round robin (ipvs-nat.sh)', () => {
    it('answers 4 requests through the VIP alternately from both real servers', () => {
      const s = scenario('ipvs-nat');
      const answers = values(s, 'ANSWER').map((v) => v.replace(/^\d+ /, ''));
      assert.equal(answers.length, 4, s.output);
      assert.deepEqual([...new Set(answers)].sort(), ['rs1', 'rs2'], s.output);
      // rr: each answer differs from the one before it.
      for (let i = 1; i < answers.length; i++) assert.notEqual(answers[i], answers[i - 1], `answers ${answers.join(',')}`);
    });

    it('shows the virtual service and both masqueraded real servers in ipvsadm -Ln', () => {
      const s = scenario('ipvs-nat');
      const listing = s.output.slice(s.output.indexOf('--- ipvsadm -Ln\n'), s.output.indexOf('--- ipvsadm -Ln --stats'));
      assert.match(listing, /^TCP {2}192\.0\.2\.100:80 rr\s*$/m);
      assert.match(listing, /^ {2}-> 198\.51\.100\.11:80 +Masq +1 +\d+ +\d+/m);
      assert.match(listing, /^ {2}-> 198\.51\.100\.12:80 +Masq +1 +\d+ +\d+/m);
    });

    it('counted 2 connections per real server, and the guest root namespace has no service', () => {
      const s = scenario('ipvs-nat');
      const stats = s.output.slice(s.output.indexOf('--- ipvsadm -Ln --stats'));
      assert.match(stats, /^TCP {2}192\.0\.2\.100:80 +4 /m);
      assert.match(stats, /^ {2}-> 198\.51\.100\.11:80 +2 /m);
      assert.match(stats, /^ {2}-> 198\.51\.100\.12:80 +2 /m);
      assert.deepEqual(values(s, 'ROOT-NS-SERVICES'), ['0']);
    });
  });
});
