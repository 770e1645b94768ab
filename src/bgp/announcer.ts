/**
 * Which VIPs this director announces, and why: a state machine with no
 * socket and no clock. Inputs are the configuration (VIP → the virtual
 * servers with `announce = bgp` on it), each virtual server's quorum, the
 * director's drain, the stop, and the routes found in the kernel at start;
 * outputs are `announce` / `withdraw` actions with their cause, which the
 * driver carries out (a route added to or deleted from lvsd's table).
 *
 * The rule: a VIP is announced while the director is neither drained nor
 * stopping and every virtual server on it has quorum. A virtual server whose
 * quorum is not known yet (a director process that just started, before its
 * first pass) leaves the VIP as the kernel has it, so a restarted director
 * process neither withdraws nor re-announces what was right all along;
 * a drain or a stop withdraws at once whatever is known.
 */

/** What the announcer is told. `at` is monotonic milliseconds (for `since` only). */
export type AnnouncerInput =
  | { readonly kind: 'config'; readonly vips: ReadonlyMap<string, readonly string[]> }
  | { readonly kind: 'quorum'; readonly vs: string; readonly up: boolean }
  | { readonly kind: 'drain'; readonly drained: boolean }
  | { readonly kind: 'stop' }
  /** The VIP routes found in lvsd's table (at start): taken as announced. */
  | { readonly kind: 'installed'; readonly vips: readonly string[] };

/** What the driver must do. */
export type AnnouncerAction =
  | { readonly kind: 'announce'; readonly vip: string; readonly cause: string }
  | { readonly kind: 'withdraw'; readonly vip: string; readonly cause: string };

/** One VIP as `lvsctl status` shows it. */
export interface VipAnnouncement {
  readonly vip: string;
  /** `pending`: configured, quorum not known yet, no route (nothing announced). */
  readonly state: 'announced' | 'withdrawn' | 'pending';
  readonly cause: string;
  /** Monotonic ms of the last change. */
  readonly since: number;
  readonly virtualServers: readonly string[];
}

interface VipState {
  announced: boolean;
  cause: string;
  since: number;
  /** Whether a decision was ever taken (else `pending` when not announced). */
  decided: boolean;
}

/** The announcer; see the file's doc. */
export class Announcer {
  private vips = new Map<string, readonly string[]>();
  private readonly quorum = new Map<string, boolean>();
  private drained = false;
  private stopping = false;
  private readonly state = new Map<string, VipState>();

  /** Whether the director is drained. */
  get isDrained(): boolean {
    return this.drained;
  }

  /** Feeds one input; returns the actions, in VIP order. */
  step(input: AnnouncerInput, at: number): AnnouncerAction[] {
    switch (input.kind) {
      case 'config': {
        const out: AnnouncerAction[] = [];
        for (const [vip, st] of this.state) {
          if (input.vips.has(vip)) continue;
          this.state.delete(vip);
          if (st.announced) out.push({ kind: 'withdraw', vip, cause: 'no virtual server with announce = bgp on it any more' });
        }
        this.vips = new Map(input.vips);
        const names = new Set([...input.vips.values()].flat());
        for (const vs of [...this.quorum.keys()]) if (!names.has(vs)) this.quorum.delete(vs);
        return [...out, ...this.decideAll(at, 'configured')];
      }
      case 'quorum': {
        if (this.quorum.get(input.vs) === input.up) return [];
        this.quorum.set(input.vs, input.up);
        const out: AnnouncerAction[] = [];
        for (const [vip, names] of this.vips) {
          if (names.includes(input.vs)) out.push(...this.decide(vip, at, input.up ? `quorum gained: ${input.vs}` : `quorum lost: ${input.vs}`));
        }
        return out;
      }
      case 'drain':
        if (this.drained === input.drained) return [];
        this.drained = input.drained;
        return this.decideAll(at, input.drained ? 'director drained (lvsctl drain)' : 'director undrained (lvsctl undrain)');
      case 'stop':
        if (this.stopping) return [];
        this.stopping = true;
        return this.decideAll(at, 'lvsd stopping');
      case 'installed': {
        const out: AnnouncerAction[] = [];
        for (const vip of input.vips) {
          if (!this.vips.has(vip)) {
            out.push({ kind: 'withdraw', vip, cause: 'found in the table at start, no virtual server announces it' });
            continue;
          }
          // The kernel's word wins over what was decided before the table was read.
          const st = this.state.get(vip);
          if (st?.announced) continue;
          this.state.set(vip, { announced: true, cause: 'found announced at start', since: at, decided: false });
          out.push(...this.decide(vip, at, 'start'));
        }
        return out;
      }
    }
  }

  /** Every configured VIP, in configuration order. */
  view(): VipAnnouncement[] {
    return [...this.vips].map(([vip, vss]) => {
      const st = this.state.get(vip);
      return {
        vip,
        state: st?.announced ? 'announced' : st?.decided ? 'withdrawn' : 'pending',
        cause: st?.cause ?? `quorum not known yet: ${vss.join(', ')}`,
        since: st?.since ?? 0,
        virtualServers: vss,
      };
    });
  }

  /** The VIPs announced now. */
  announced(): string[] {
    return [...this.state].filter(([, s]) => s.announced).map(([v]) => v);
  }

  private decideAll(at: number, trigger: string): AnnouncerAction[] {
    const out: AnnouncerAction[] = [];
    for (const vip of this.vips.keys()) out.push(...this.decide(vip, at, trigger));
    return out;
  }

  /** Whether `vip` should be announced (undefined: unknown, leave it), and why. */
  private want(vip: string, trigger: string): { want: boolean | undefined; cause: string } {
    if (this.stopping) return { want: false, cause: 'lvsd stopping' };
    if (this.drained) return { want: false, cause: 'director drained (lvsctl drain)' };
    const names = this.vips.get(vip) ?? [];
    const lost = names.filter((n) => this.quorum.get(n) === false);
    if (lost.length) return { want: false, cause: `quorum lost: ${lost.join(', ')}` };
    const unknown = names.filter((n) => !this.quorum.has(n));
    if (unknown.length) return { want: undefined, cause: `quorum not known yet: ${unknown.join(', ')}` };
    return { want: true, cause: trigger.startsWith('quorum gained') || trigger.startsWith('director undrained') ? trigger : `quorum held: ${names.join(', ')}` };
  }

  private decide(vip: string, at: number, trigger: string): AnnouncerAction[] {
    const { want, cause } = this.want(vip, trigger);
    if (want === undefined) return [];
    const st = this.state.get(vip);
    if (st && st.announced === want) {
      st.decided = true;
      return [];
    }
    if (!st && !want) {
      this.state.set(vip, { announced: false, cause, since: at, decided: true });
      return [];
    }
    this.state.set(vip, { announced: want, cause, since: at, decided: true });
    return [{ kind: want ? 'announce' : 'withdraw', vip, cause }];
  }
}
