import { strict as assert } from 'node:assert';
import { FakeClock } from '../../src/lib/clock';
import { GarpSchedule } from '../../src/vrrp/garp';

describe('vrrp/garp schedule', () => {
  it('sends a burst at once, a second after garp_master_delay, then refreshes', () => {
    const clock = new FakeClock(1000);
    const sent: Array<[number, number, string]> = [];
    const g = new GarpSchedule(clock, { delayMs: 5000, repeat: 5, refreshMs: 10000 }, (n, why) => sent.push([clock.now(), n, why]));
    g.start();
    clock.advance(26000);
    assert.deepEqual(sent, [
      [1000, 5, 'became master'],
      [6000, 5, 'garp_master_delay'],
      [16000, 1, 'garp_master_refresh'],
      [26000, 1, 'garp_master_refresh'],
    ]);
  });
  it('stops completely when the instance leaves master', () => {
    const clock = new FakeClock();
    let count = 0;
    const g = new GarpSchedule(clock, { delayMs: 5000, repeat: 3, refreshMs: 1000 }, (n) => (count += n));
    g.start();
    g.stop();
    clock.advance(60000);
    assert.equal(count, 3);
    assert.equal(clock.pending, 0);
  });
  it('never refreshes with garp_master_refresh 0', () => {
    const clock = new FakeClock();
    const whys: string[] = [];
    const g = new GarpSchedule(clock, { delayMs: 5000, repeat: 5, refreshMs: 0 }, (_n, why) => whys.push(why));
    g.start();
    clock.advance(600000);
    assert.deepEqual(whys, ['became master', 'garp_master_delay']);
    assert.equal(clock.pending, 0);
  });
});
