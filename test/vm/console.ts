/**
 * Pure reading of the VM's serial console transcript: the marker lines printed by the
 * guest (test/vm/initramfs/stage2.sh and the scenario wrapper written by vm.ts) split the
 * transcript into boot noise, the script's output and its exit status. No I/O here.
 */

/** Marker lines, each alone on its line. The guest prints them; the host only parses them. */
export const Marker = {
  /** Printed by stage2.sh just before the script starts. */
  begin: '@@LVSD-VM-BEGIN@@',
  /** Prefix of `@@LVSD-VM-EXIT <status>@@`, printed after the script returned. */
  exit: '@@LVSD-VM-EXIT',
  /** Prefix of a line the guest's init prints when it cannot go on (then it powers off). */
  initError: '@@LVSD-VM-INIT-ERROR@@',
  /** Prefix of `@@LVSD-SCENARIO-BEGIN <name>@@`, printed by the scenario wrapper. */
  scenarioBegin: '@@LVSD-SCENARIO-BEGIN',
  /** Prefix of `@@LVSD-SCENARIO-END <name> <status> <ms>@@`. */
  scenarioEnd: '@@LVSD-SCENARIO-END',
} as const;

/** What a console transcript says about the run. */
export interface ParsedConsole {
  /** The begin marker was seen: the guest booted and started the script. */
  readonly begun: boolean;
  /** The script's exit status from the exit marker, or null when that line was not seen. */
  readonly exitCode: number | null;
  /** The script's output: the lines between the begin and exit markers (to the end if no exit marker). */
  readonly output: string;
  /** The text of the first init-error marker line, or null. */
  readonly initError: string | null;
}

const EXIT_LINE = /^@@LVSD-VM-EXIT (\d+)@@$/;

/** Splits a transcript into lines, dropping the tty's carriage returns and the empty piece after a final newline. */
function lines(text: string): string[] {
  const all = text.replace(/\r/g, '').split('\n');
  if (all.length > 0 && all[all.length - 1] === '') all.pop();
  return all;
}

/**
 * Reads a (possibly partial) console transcript. The begin and exit markers count only when
 * they are a whole line, so a script echoing a marker inside a longer line does not end the
 * run early; the init-error marker counts anywhere (an error must never be missed).
 */
export function parseConsole(text: string): ParsedConsole {
  const all = lines(text);
  let initError: string | null = null;
  let beginAt = -1;
  let exitAt = -1;
  let exitCode: number | null = null;
  for (let i = 0; i < all.length; i++) {
    const line = all[i];
    const errAt = line.indexOf(Marker.initError);
    if (initError === null && errAt >= 0) {
      // Anywhere in the line: firmware escape codes may precede it, and an error must not be missed.
      initError = line.slice(errAt + Marker.initError.length).trim();
    } else if (beginAt < 0 && line === Marker.begin) {
      beginAt = i;
    } else if (beginAt >= 0) {
      const m = EXIT_LINE.exec(line);
      if (m !== null) {
        exitAt = i;
        exitCode = Number(m[1]);
        break;
      }
    }
  }
  if (beginAt < 0) return { begun: false, exitCode, output: '', initError };
  const body = all.slice(beginAt + 1, exitAt < 0 ? all.length : exitAt);
  // The guest prints an empty line before each end marker (see stage2.sh): drop it.
  if (exitAt >= 0 && body.length > 0 && body[body.length - 1] === '') body.pop();
  return { begun: true, exitCode, output: joined(body), initError };
}

/** One scenario's part of a multi-scenario run. */
export interface ScenarioResult {
  /** Scenario name: the script's file name without `.sh`. */
  readonly name: string;
  /** Its exit status, or null when its end marker was not seen (the run died inside it). 124 = timed out in the guest. */
  readonly exitCode: number | null;
  /** Its output (stdout and stderr interleaved). */
  readonly output: string;
  /** Its run time measured in the guest, in milliseconds, or null without end marker. */
  readonly ms: number | null;
}

const SCENARIO_BEGIN = /^@@LVSD-SCENARIO-BEGIN (\S+)@@$/;
const SCENARIO_END = /^@@LVSD-SCENARIO-END (\S+) (\d+) (\d+)@@$/;

/**
 * Splits a script's output (ParsedConsole.output) into the scenarios the wrapper ran, in
 * order. Text outside any scenario is dropped. A scenario without its end marker is the
 * last one and has exitCode and ms null.
 */
export function splitScenarios(output: string): ScenarioResult[] {
  const results: ScenarioResult[] = [];
  let current: { name: string; body: string[] } | null = null;
  for (const line of lines(output)) {
    const begin = SCENARIO_BEGIN.exec(line);
    if (begin !== null) {
      if (current !== null) results.push({ name: current.name, exitCode: null, output: joined(current.body), ms: null });
      current = { name: begin[1], body: [] };
      continue;
    }
    const end = SCENARIO_END.exec(line);
    if (end !== null && current !== null && end[1] === current.name) {
      // The wrapper prints an empty line before each end marker: drop it.
      if (current.body.length > 0 && current.body[current.body.length - 1] === '') current.body.pop();
      results.push({ name: current.name, exitCode: Number(end[2]), output: joined(current.body), ms: Number(end[3]) });
      current = null;
      continue;
    }
    if (current !== null) current.body.push(line);
  }
  if (current !== null) results.push({ name: current.name, exitCode: null, output: joined(current.body), ms: null });
  return results;
}

function joined(body: string[]): string {
  return body.length === 0 ? '' : `${body.join('\n')}\n`;
}
