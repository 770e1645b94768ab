import { strict as assert } from 'node:assert';
import { mayResumeMaster, restartDelayMs } from '../../src/main/restart';

describe('supervisor rules', () => {
  it('restarts at once after a run over 60 s or after a first death, else after 1, 2, 4 … 60 s', () => {
    assert.equal(restartDelayMs(60_000, 1), 0);
    assert.equal(restartDelayMs(60_000, 5), 0);
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => restartDelayMs(500, n)), [0, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  });
  it('resumes a master only when it was master, its VIPs are there, and within 2 x advert_int of the death', () => {
    const base = { wasMaster: true, vipsPresent: true, sinceDeathMs: 1500, advertIntervalMs: 1000 };
    assert.equal(mayResumeMaster(base), true);
    assert.equal(mayResumeMaster({ ...base, sinceDeathMs: 2000 }), false, '2 x advert_int: a backup may be about to take over');
    assert.equal(mayResumeMaster({ ...base, vipsPresent: false }), false);
    assert.equal(mayResumeMaster({ ...base, wasMaster: false }), false);
    assert.equal(mayResumeMaster({ ...base, advertIntervalMs: 100 }), false, 'sub-second adverts: the restart is too slow to resume');
  });
});
