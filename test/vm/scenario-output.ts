/**
 * Reading what the guest scenarios printed: each prints raw facts as `KEY value...` lines,
 * which the VM tests (pair-directors, e2e-director, ipvs-nat) look up here.
 */
import * as assert from 'node:assert/strict';
import type { ScenarioResult, ScenariosRunResult } from './vm';

/** Scenario `name` of `run`, which must have run to its end with status 0. */
export function scenarioOf(run: ScenariosRunResult, name: string): ScenarioResult {
  const s = run.scenarios.find((x) => x.name === name);
  assert.ok(s, `scenario ${name} missing from the run; output:\n${run.output}`);
  assert.equal(s.exitCode, 0, `scenario ${name} exited ${s.exitCode}:\n${s.output}`);
  return s;
}

/** Values of lines `KEY rest...`, in order. */
export function values(s: ScenarioResult, key: string): string[] {
  return s.output.split('\n').filter((l) => l.startsWith(`${key} `)).map((l) => l.slice(key.length + 1));
}
