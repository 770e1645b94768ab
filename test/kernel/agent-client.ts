/**
 * The test side of ns-agent.ts: starts the agent in a namespace of a
 * Topology and calls it.
 */
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { Topology } from '../lib/netns';
import type { AddressEvent } from '../../src/kernel/addresses';
import type { LinkChange } from '../../src/kernel/links';

/** An error as the agent reported it. */
export interface AgentError {
  name: string;
  code?: string;
  errno?: number;
  request?: string;
  message: string;
}

/** A running agent. */
export class Agent {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  /** Link changes seen since "watch". */
  readonly changes: LinkChange[] = [];
  /** Address events seen since "addr.watch". */
  readonly addrEvents: AddressEvent[] = [];
  private readonly ready: Promise<void>;

  private constructor(private readonly stdin: NodeJS.WritableStream, stdout: NodeJS.ReadableStream, private readonly diag: () => string) {
    let markReady!: () => void;
    this.ready = new Promise((r) => (markReady = r));
    readline.createInterface({ input: stdout }).on('line', (line) => {
      let m: { id?: number; ok?: boolean; value?: unknown; error?: AgentError; event?: string; change?: LinkChange; addr?: AddressEvent };
      try {
        m = JSON.parse(line);
      } catch {
        return; // stray output
      }
      if (m.event === 'ready') markReady();
      else if (m.event === 'link' && m.change) this.changes.push(m.change);
      else if (m.event === 'addr' && m.addr) this.addrEvents.push(m.addr);
      else if (m.id !== undefined) {
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (!w) return;
        clearTimeout(w.timer);
        if (m.ok) w.resolve(m.value);
        else w.reject(Object.assign(new Error(m.error!.message), { agentError: m.error }));
      }
    });
  }

  /** Starts the agent in namespace `host` of `topo` (destroy() of the topology kills it). */
  static async start(topo: Topology, host: string): Promise<Agent> {
    const script = path.join(__dirname, 'ns-agent.js');
    const p = topo.spawn(host, [process.execPath, script], { stdio: ['pipe', 'pipe', 'pipe'] });
    const a = new Agent(p.child.stdin!, p.child.stdout!, () => p.output());
    await Promise.race([
      a.ready,
      p.exited.then(() => {
        throw new Error(`ns-agent in ${host} exited early: ${p.output()}`);
      }),
      new Promise((_, rej) => {
        const t = setTimeout(() => rej(new Error(`ns-agent in ${host} not ready after 10 s: ${p.output()}`)), 10_000);
        void a.ready.then(() => clearTimeout(t));
      }),
    ]);
    return a;
  }

  /** Calls `op`; rejects with an Error carrying `agentError` when the agent's call failed. */
  call<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.waiting.delete(id)) reject(new Error(`ns-agent: ${op} unanswered after 10 s; output: ${this.diag().slice(-2000)}`));
      }, 10_000);
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.stdin.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  /** The agent's error for a call expected to fail; throws if it succeeded. */
  async failure(op: string, ...args: unknown[]): Promise<AgentError> {
    try {
      const v = await this.call(op, ...args);
      throw new Error(`${op} ${JSON.stringify(args)} succeeded (${JSON.stringify(v)}) but should have failed`);
    } catch (e) {
      const ae = (e as { agentError?: AgentError }).agentError;
      if (!ae) throw e;
      return ae;
    }
  }
}
