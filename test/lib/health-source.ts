/**
 * Health sources for tests and benchmarks that drive a Director without a
 * checker process: every real server answers up at `set`, and verdicts are
 * delivered when the caller says.
 */
import type { RsChange } from '../../src/check/types';
import type { HealthSource } from '../../src/director/health';

export interface ScriptedHealth extends HealthSource {
  /** Delivers each verdict now, in order, to every onChange listener. */
  emit(events: readonly RsChange[]): void;
}

export function scriptedHealth(): ScriptedHealth {
  const states: ((s: RsChange[]) => void)[] = [];
  const changes: ((e: RsChange) => void)[] = [];
  return {
    set: (s) => states.forEach((f) => f(s.map((x) => ({ rs: x.rs, up: true, reason: 'start' })))),
    update: () => undefined,
    onStates: (f) => void states.push(f),
    onChange: (f) => void changes.push(f),
    stop: async () => undefined,
    emit: (evs) => evs.forEach((e) => changes.forEach((f) => f(e))),
  };
}

/** Every real server up from the start, and no verdict ever after. */
export function allUpHealth(): HealthSource {
  return scriptedHealth();
}
