/**
 * The demo's live client, as both stories (proxy.ts, ipvs.ts) run it: client.js in
 * the client's namespace, one JSON result line per request, each handed to the
 * story as it arrives.
 */
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { ClientResult } from './client';
import { Narrator } from './output';

/** How often the client sends a request. */
export const REQUEST_INTERVAL_MS = 250;

/** The client's process, as a cluster starts it in a namespace. */
export interface ClientProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
}

/** A story with a live client: the clock and narrator, plus the client's results as they come. */
export abstract class ClientStory extends Narrator {
  private client: ClientProcess | undefined;
  private clientStopped = false;

  /**
   * Starts the client requesting `url` every {@link REQUEST_INTERVAL_MS}; `spawn` runs its
   * argv in the client's namespace. Each result goes to {@link onResult} as it arrives.
   */
  protected startClientAt(url: string, spawn: (argv: readonly string[]) => ClientProcess): void {
    const p = spawn([process.execPath, path.join(__dirname, 'client.js'), url, String(REQUEST_INTERVAL_MS)]);
    this.client = p;
    createInterface({ input: p.child.stdout! }).on('line', (line) => {
      let r: ClientResult;
      try {
        r = JSON.parse(line) as ClientResult;
      } catch {
        return;
      }
      if (!this.clientStopped) this.onResult(r, performance.now());
    });
  }

  /** One result of the client, with performance.now() of its arrival; none after {@link stopClient}. */
  protected abstract onResult(r: ClientResult, at: number): void;

  /** Stops the client; answers still in flight are not counted. */
  async stopClient(): Promise<void> {
    const p = this.client;
    if (!p) return;
    this.clientStopped = true;
    p.child.kill('SIGTERM');
    await p.exited;
  }
}
