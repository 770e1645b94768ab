import * as assert from 'node:assert/strict';
import { parseConsole, splitScenarios } from './console';
import { consoleTail, VmError, VmErrorCode } from './errors';

// The host-side reading of the serial console, without a VM: boot noise, markers, scenarios.
describe('vm console transcript', () => {
  const boot = '\x1bc\x1b[?7lSeaBIOS (version 1.16.2)\r\nBooting from ROM...\r\n\x1b[2J';

  it('takes the output between the begin and exit markers and the exit status', () => {
    const text = `${boot}\r\n@@LVSD-VM-BEGIN@@\r\nhello\r\nworld\r\n\r\n@@LVSD-VM-EXIT 3@@\r\n[    6.04] sysrq: Power Off\r\n`;
    assert.deepEqual(parseConsole(text), { begun: true, exitCode: 3, output: 'hello\nworld\n', initError: null });
  });

  it('does not take a marker that is only part of a line', () => {
    const text = `${boot}@@LVSD-VM-BEGIN@@\r\n`;
    assert.equal(parseConsole(text).begun, false);
    const inside = '\n@@LVSD-VM-BEGIN@@\necho @@LVSD-VM-EXIT 0@@ here\n';
    assert.deepEqual(parseConsole(inside), { begun: true, exitCode: null, output: 'echo @@LVSD-VM-EXIT 0@@ here\n', initError: null });
  });

  it('keeps the last line of a script that printed no final newline', () => {
    const text = '\n@@LVSD-VM-BEGIN@@\nno newline\n@@LVSD-VM-EXIT 0@@\n';
    assert.equal(parseConsole(text).output, 'no newline\n');
  });

  it('reports an init error line', () => {
    const text = `${boot}@@LVSD-VM-INIT-ERROR@@ cannot mount the host root over 9p\n`;
    assert.deepEqual(parseConsole(text), { begun: false, exitCode: null, output: '', initError: 'cannot mount the host root over 9p' });
  });

  it('splits scenarios and marks the one the run died in', () => {
    const out = [
      'stray line', '@@LVSD-SCENARIO-BEGIN a@@', 'A1', '', '@@LVSD-SCENARIO-END a 0 120@@',
      '@@LVSD-SCENARIO-BEGIN b@@', 'B1', '', '@@LVSD-SCENARIO-END b 124 5000@@',
      '@@LVSD-SCENARIO-BEGIN c@@', 'C1', '',
    ].join('\n');
    assert.deepEqual(splitScenarios(out), [
      { name: 'a', exitCode: 0, output: 'A1\n', ms: 120 },
      { name: 'b', exitCode: 124, output: 'B1\n', ms: 5000 },
      { name: 'c', exitCode: null, output: 'C1\n', ms: null },
    ]);
  });

  it('puts the console tail into VmError messages', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\r\n');
    const err = new VmError(VmErrorCode.NoBoot, 'the guest never started the script', lines);
    assert.equal(err.code, 'VM_NO_BOOT');
    assert.match(err.message, /^the guest never started the script\n--- last console lines ---\nline 60\n/);
    assert.ok(err.message.endsWith('line 99'));
    assert.equal(consoleTail('a\nb\nc', 2), 'b\nc');
  });
});
