import { strict as assert } from 'node:assert';
import { FakeClock } from '../../src/lib/clock';

describe('FakeClock', () => {
  it('fires due timers in time order, ties in creation order, each at its own time', () => {
    const c = new FakeClock(100);
    const fired: Array<[string, number]> = [];
    c.at(130, () => fired.push(['b', c.now()]));
    c.at(120, () => fired.push(['a', c.now()]));
    c.at(130, () => fired.push(['c', c.now()]));
    c.at(200, () => fired.push(['late', c.now()]));
    c.advance(50);
    assert.deepEqual(fired, [['a', 120], ['b', 130], ['c', 130]]);
    assert.equal(c.now(), 150);
    assert.equal(c.pending, 1);
  });
  it('fires timers that firing timers set, when due within the same advance', () => {
    const c = new FakeClock();
    const fired: number[] = [];
    c.at(10, () => {
      fired.push(c.now());
      c.at(c.now() + 10, () => fired.push(c.now()));
      c.at(c.now() - 5, () => fired.push(c.now()));
    });
    c.advance(25);
    assert.deepEqual(fired, [10, 10, 20], 'a timer set in the past fires at once, without moving time back');
  });
  it('ignores clearing a fired, cleared or missing timer', () => {
    const c = new FakeClock();
    let n = 0;
    const a = c.at(5, () => n++);
    const b = c.at(5, () => n++);
    c.clear(b);
    c.clear(b);
    c.clear(undefined);
    assert.equal(c.pending, 1);
    c.advance(5);
    c.clear(a);
    assert.equal(n, 1);
    assert.equal(c.pending, 0);
  });
  it('advanceAsync lets the async work a timer starts settle before the next timer', async () => {
    const c = new FakeClock();
    const seen: string[] = [];
    c.at(1, () => void Promise.resolve().then(() => seen.push(`resolved at ${c.now()}`)));
    c.at(2, () => seen.push(`timer at ${c.now()}`));
    await c.advanceAsync(3);
    assert.deepEqual(seen, ['resolved at 1', 'timer at 2']);
    assert.equal(c.now(), 3);
  });
});
