/** The rise/fall/retry state machine, driven directly with attempt outcomes. */
import * as assert from 'node:assert/strict';
import { hysteresisInit, HysteresisOptions, hysteresisStep, NextWait } from '../../src/check/hysteresis';

/** Feeds outcomes ('+' ok, '-' fail) and returns, per step, up/down, changed mark and wait. */
function trace(opts: HysteresisOptions, outcomes: string, alpha = false): string[] {
  let s = hysteresisInit(alpha);
  const out: string[] = [];
  for (const c of outcomes) {
    const r = hysteresisStep(opts, s, c === '+');
    s = r.state;
    out.push(`${r.state.up ? 'U' : 'D'}${r.changed ? '!' : ''}${r.next === NextWait.delay_before_retry ? 'r' : ''}`);
  }
  return out;
}

describe('check/hysteresis', () => {
  it('starts up, or down with alpha', () => {
    assert.equal(hysteresisInit().up, true);
    assert.equal(hysteresisInit(true).up, false);
  });

  it('keepalived default (retry 1, rise 1, fall 1): a failure is retried once, then down', () => {
    assert.deepEqual(trace({ retry: 1, rise: 1, fall: 1 }, '+--+'), ['U', 'Ur', 'D!', 'U!']);
  });

  it('a success during the retries clears the series', () => {
    assert.deepEqual(trace({ retry: 2, rise: 1, fall: 1 }, '--+--+---'), ['Ur', 'Ur', 'U', 'Ur', 'Ur', 'U', 'Ur', 'Ur', 'D!']);
  });

  it('retry 0 takes the first failure as confirmed', () => {
    assert.deepEqual(trace({ retry: 0, rise: 1, fall: 1 }, '-'), ['D!']);
  });

  it('fall counts confirmed failures, spaced by delay_loop', () => {
    // retry 1, fall 2: fail+retry-fail = 1 confirmed, then again = 2 → down.
    assert.deepEqual(trace({ retry: 1, rise: 1, fall: 2 }, '----'), ['Ur', 'U', 'Ur', 'D!']);
    // A success between confirmed failures resets the count.
    assert.deepEqual(trace({ retry: 0, rise: 1, fall: 2 }, '-+--'), ['U', 'U', 'U', 'D!']);
  });

  it('rise counts successes in a row while down; a down check is not retried', () => {
    assert.deepEqual(trace({ retry: 3, rise: 3, fall: 1 }, '++-+++', true), ['D', 'D', 'D', 'D', 'D', 'U!']);
  });

  it('is pure: the input state is not modified', () => {
    const s = hysteresisInit();
    const frozen = JSON.stringify(s);
    hysteresisStep({ retry: 1, rise: 1, fall: 1 }, s, false);
    assert.equal(JSON.stringify(s), frozen);
  });
});
