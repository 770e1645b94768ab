/**
 * The demo from any checkout: a clone under /tmp (where the VM guest mounts
 * its own tmpfs) must run in the VM. The host hands the guest the paths it
 * reads at (scenario scripts, the run's entry script, the module directory,
 * cwd, PATH) through guestPathOf, and the initramfs binds the host's /tmp at
 * GUEST_HOST_TMP before it mounts the guest's /tmp. Cheap checks, no boot:
 * the mapping, the init script's order, and a scenario of a checkout made
 * under /tmp resolving for the guest instead of being refused.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { initramfsSourceDir } from './assets';
import { GUEST_HOST_TMP, guestPathOf, guestVisible, VmError } from './vm';

describe('VM guest paths: a checkout under /tmp', () => {
  it('maps /tmp to GUEST_HOST_TMP and leaves other host paths as they are', () => {
    assert.equal(GUEST_HOST_TMP, '/lvsd-host/tmp');
    assert.equal(guestPathOf('/tmp/lvsd/test/vm/scenarios/demo-nat.sh'), '/lvsd-host/tmp/lvsd/test/vm/scenarios/demo-nat.sh');
    assert.equal(guestPathOf('/tmp'), '/lvsd-host/tmp');
    assert.equal(guestPathOf('/work/lvsd/test/vm/scenarios/demo-nat.sh'), '/work/lvsd/test/vm/scenarios/demo-nat.sh');
    assert.equal(guestPathOf('/var/tmp/x.sh'), '/var/tmp/x.sh');
    assert.equal(guestPathOf('/tmpfoo/x.sh'), '/tmpfoo/x.sh', 'only /tmp itself is remapped');
    for (const p of ['/run/x.sh', '/var/run/x.sh', '/dev/shm/x.sh', '/proc/1/x', '/sys/x']) {
      assert.throws(() => guestPathOf(p, 'scenario'), (e: unknown) => e instanceof VmError && e.code === 'VM_BAD_OPTIONS' && e.message.startsWith(`scenario ${p} is under `), p);
    }
  });

  it('the initramfs binds the host\'s /tmp at GUEST_HOST_TMP before it mounts the guest\'s own /tmp', () => {
    const init = readFileSync(path.join(initramfsSourceDir(), 'init'), 'utf8');
    const bind = init.indexOf(`mount --bind /newroot/tmp /newroot${GUEST_HOST_TMP}`);
    const tmpfs = init.indexOf('mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp');
    assert.ok(bind > 0, `init does not bind /newroot/tmp at /newroot${GUEST_HOST_TMP}`);
    assert.ok(tmpfs > bind, 'init mounts the guest\'s /tmp before it binds the host\'s (the bind would see the empty tmpfs)');
    assert.match(init, new RegExp(`mkdir -p /newroot${GUEST_HOST_TMP.replace(/\//g, '\\/')} && mount --bind`));
  });

  it('a scenario of a checkout cloned under /tmp resolves to its guest path (it was refused before)', async () => {
    const clone = mkdtempSync('/tmp/lvsd-clone-');
    try {
      const scenario = path.join(clone, 'test/vm/scenarios/demo-nat.sh');
      mkdirSync(path.dirname(scenario), { recursive: true });
      writeFileSync(scenario, '#!/bin/sh\n');
      assert.equal(await guestVisible(scenario, 'scenario'), `${GUEST_HOST_TMP}${scenario.slice('/tmp'.length)}`);
      await assert.rejects(guestVisible(path.join(clone, 'missing.sh'), 'scenario'), /does not exist on the host/);
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  });
});
