import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');

describe('bgp: the shipped BIRD examples (etc/bird-director.conf, etc/bird-router.conf)', () => {
  it('parse with BIRD 2 (bird -p) and import table 100 on the director', () => {
    const bird = ['/usr/sbin/bird', '/usr/bin/bird'].find((p) => fs.existsSync(p));
    if (!bird) throw new Error('this test needs bird (Debian\'s bird2: see test/setup.sh)');
    for (const f of ['bird-director.conf', 'bird-router.conf']) {
      // bird -p parses the file and exits 0, or prints the error and exits 1.
      execFileSync(bird, ['-p', '-c', path.join(ROOT, 'etc', f)], { stdio: 'pipe' });
    }
    const director = fs.readFileSync(path.join(ROOT, 'etc/bird-director.conf'), 'utf8');
    assert.match(director, /kernel table 100;\s*\n\s*learn;/, 'the kernel protocol imports lvsd\'s default route_table');
    assert.match(director, /export where proto = "lvsd_vips4"/);
    assert.match(fs.readFileSync(path.join(ROOT, 'etc/bird-router.conf'), 'utf8'), /merge paths on;/);
  });
});
