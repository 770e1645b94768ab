/**
 * The IPVS demo on a kernel without IPVS: boots the VM test bed once
 * (test/vm/vm.ts: Debian's kernel under qemu, this filesystem read-only),
 * runs one scenario per mode in it (test/vm/scenarios/demo-<mode>.sh, which
 * runs this very demo inside the guest, where the kernel has IPVS), and
 * relays the guest's console here live. The VM powers off at the end; on
 * Ctrl-C or SIGTERM the demo kills its qemu and the run's files go with it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Marker } from '../vm/console';
import { runScenariosInVm, type ScenariosRunResult } from '../vm/vm';
import type { DemoOptions, IpvsMode } from './args';
import { DemoStepError, out, runGuarded } from './output';

/** The scenario that runs `mode`'s story inside the guest. */
export function demoScenario(mode: IpvsMode): string {
  return `demo-${mode}`;
}

/** The demo's own arguments, passed to the guest's demo (DEMO_ARGS). */
export function guestArgs(opts: DemoOptions): string {
  return `--advert-int ${opts.advertInt} --calm ${opts.calmMs / 1000}`;
}

const SCENARIO_BEGIN = /^@@LVSD-SCENARIO-BEGIN demo-(\w+)@@$/;
const SCENARIO_END = /^@@LVSD-SCENARIO-END demo-(\w+) (\d+) (\d+)@@$/;
const VM_EXIT = /^@@LVSD-VM-EXIT (\d+)@@$/;

/**
 * Turns the serial console's chunks into the lines the user sees: the
 * guest's output as it is, the boot console prefixed with `vm│`, and the
 * marker lines of the test bed replaced by plain words. Pure but for `write`.
 */
export class ConsoleRelay {
  private partial = '';
  private begun = false;
  private readonly t0 = performance.now();

  constructor(private readonly write: (line: string) => void) {}

  /** Feeds a chunk of console output; complete lines are written at once. */
  push(chunk: string): void {
    const text = this.partial + chunk.replace(/\r/g, '');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const l of lines) this.line(l);
  }

  /** Writes what is left of an unterminated last line. */
  flush(): void {
    if (this.partial !== '') this.line(this.partial);
    this.partial = '';
  }

  private line(l: string): void {
    const secs = ((performance.now() - this.t0) / 1000).toFixed(1);
    if (!this.begun) {
      if (l === Marker.begin) {
        this.begun = true;
        this.write(`vm: the guest is up after ${secs} s; the demo runs inside it`);
      } else {
        // The firmware clears the screen with escape sequences: not for the user's terminal.
        const text = l.replace(/\x1b(\[[0-9;?]*[A-Za-z]|[A-Za-z])/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
        if (text.trim() !== '') this.write(`vm│ ${text}`);
      }
      return;
    }
    let m: RegExpExecArray | null;
    if ((m = SCENARIO_BEGIN.exec(l))) {
      this.write('');
      this.write(`════ LVS-${m[1]!.toUpperCase()}, inside the VM ════════════════════════════════════════════════`);
    } else if ((m = SCENARIO_END.exec(l))) {
      this.write(`vm: LVS-${m[1]!.toUpperCase()} ended with status ${m[2]} after ${(Number(m[3]) / 1000).toFixed(1)} s`);
    } else if ((m = VM_EXIT.exec(l))) {
      this.write(`vm: the demo is over (status ${m[1]}); the guest powers off`);
    } else {
      this.write(l);
    }
  }
}

/** Pids of this process's own qemu children (runInVm spawns qemu directly). */
function ownQemuChildren(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces, so read after the last ')'.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && comm.startsWith('qemu-system')) pids.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

/**
 * Runs the stories of `modes` in one VM boot, relaying the console live.
 * Resolves with the exit status: 0 when every story happened, 1 otherwise.
 */
export async function runDemoInVm(opts: DemoOptions, modes: readonly IpvsMode[]): Promise<number> {
  out(`this kernel has no IPVS (CONFIG_IP_VS): the demo runs inside the VM test bed (test/vm), one boot`);
  out(`for ${modes.map((m) => `LVS-${m.toUpperCase()}`).join(', ')}: Debian's kernel under qemu (software emulation), sharing this`);
  out('filesystem read-only; nothing the guest writes stays. The guest\'s console follows.');
  out();
  const relay = new ConsoleRelay(out);
  let pending: Promise<ScenariosRunResult> | undefined;
  const t0 = performance.now();
  return runGuarded({
    announceCleanup: false,
    body: async () => {
      pending = runScenariosInVm(modes.map(demoScenario), {
        // Boot (4-40 s) plus 60-90 s per story on an idle machine; several minutes under heavy load.
        timeoutMs: 240_000 + modes.length * 600_000,
        scenarioTimeoutS: 600,
        env: { DEMO_ARGS: guestArgs(opts) },
        onConsole: (chunk) => relay.push(chunk),
      });
      const r = await pending;
      relay.flush();
      out();
      out(`vm: powered off. Boot ${(r.bootMs / 1000).toFixed(1)} s; ${r.scenarios.map((s) => `LVS-${s.name.replace(/^demo-/, '').toUpperCase()} ${s.ms === null ? '?' : (s.ms / 1000).toFixed(1)} s`).join(', ')}; whole run ${((performance.now() - t0) / 1000).toFixed(1)} s (kernel ${r.kernelVersion})`);
      const failed = r.scenarios.filter((s) => s.exitCode !== 0);
      if (failed.length > 0 || r.scenarios.length !== modes.length) {
        throw new DemoStepError(`the story failed in the VM: ${failed.map((s) => `${s.name} exited ${s.exitCode ?? 'without an end marker'}`).join(', ') || `${r.scenarios.length} of ${modes.length} stories ran`}`);
      }
    },
    cleanup: async () => {
      const qemu = ownQemuChildren();
      if (qemu.length === 0) return;
      out('stopping the VM (killing qemu)…');
      for (const pid of qemu) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      // runScenariosInVm removes its run directory once qemu is gone.
      await Promise.race([pending?.catch(() => undefined), new Promise((r) => setTimeout(r, 20_000))]);
      out('VM stopped');
    },
  });
}
