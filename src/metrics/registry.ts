/**
 * lvsd's Prometheus metrics, built with prom-client over a {@link MetricsSource}.
 *
 * Every value is read when Prometheus scrapes (each metric's `collect()`),
 * never on a timer: one scrape asks the source once for the VRRP status and
 * once for the director status (the collect callbacks of one scrape share the
 * in-flight answers), so a scrape costs one kernel read.
 *
 * Not exported: health-check durations (the director's status does not carry
 * them).
 *
 * The same source feeds the status page's document (status.ts).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { DirectorStatus } from '../director/status';
import { type HistogramSnapshot, registerCheckMetrics } from './histogram';
import { registerBgpMetrics } from './bgp';
import type { BgpStatus } from '../bgp/service';
import { buildStatus, type StatusDocument } from './status';

/** A VRRP instance as the metrics read it: the fields of the status answer they need, plus the runtime's counters. */
export interface VrrpInstanceView {
  readonly name: string;
  readonly state: string;
  readonly basePriority: number;
  readonly effectivePriority: number;
  readonly drops: Readonly<Record<string, number>>;
  readonly counters?: { readonly advertsSent: number; readonly advertsReceived: number };
  // What the status page shows besides (the status answer has them; older or fake sources may not).
  readonly vrid?: number;
  readonly interface?: string;
  readonly master?: { readonly address: string; readonly priority: number } | null;
  readonly lastTransition?: { readonly from: string; readonly to: string; readonly reason: string; readonly at: string } | null;
  readonly vips?: readonly string[];
  readonly syncGroup?: string | null;
  /** Tracked scripts and interfaces with their weight contribution, when the status lists them (see status.ts). */
  readonly tracking?: readonly unknown[];
}

/** The VRRP part of a scrape. */
export interface VrrpView {
  readonly instances: readonly VrrpInstanceView[];
  /** Drops no instance owns, by reason. */
  readonly drops: Readonly<Record<string, number>>;
}

/** One check of one real server: its results and durations since the checker started. */
export interface CheckStatsView {
  readonly virtualServer: string;
  readonly realServer: string;
  readonly address: string;
  /** The `[check.NAME]` name. */
  readonly check: string;
  readonly ok: number;
  readonly failed: number;
  /** From a {@link DurationHistogram} (histogram.ts). */
  readonly durations: HistogramSnapshot;
}

/** Where the metrics come from; every method is called on scrape only. */
export interface MetricsSource {
  /** lvsd's version and router_id (for `lvsd_info`). */
  info(): { readonly version: string; readonly routerId: string };
  /** The VRRP status; undefined when no VRRP runs or it cannot be had now. */
  vrrp(): Promise<VrrpView | undefined> | VrrpView | undefined;
  /** The director's status; undefined when lvsd manages no virtual servers or it cannot be had now. */
  director(): Promise<DirectorStatus | undefined> | DirectorStatus | undefined;
  /** Transitions since start: instance → state entered → count. */
  transitions(): Readonly<Record<string, Readonly<Record<string, number>>>>;
  /**
   * The event history, oldest first (the status page's timeline): VRRP
   * transitions `{at, instance, from, to, reason}` and other subsystems'
   * records (see status.ts `timelineEvent`). Absent: an empty timeline.
   */
  events?(): Promise<readonly object[]> | readonly object[];
  /**
   * Reloads since start: applied (`ok`), refused (an invalid file, or a part
   * that refused it: nothing changed) and failed (an error while applying),
   * and whether the last one applied (null before any). Absent: no reload series.
   */
  reloads?(): { readonly ok: number; readonly refused?: number; readonly failed: number; readonly lastOk: boolean | null };
  /** Child process restarts since start, by role (`vrrp`, `director`, `checker`). */
  childRestarts?(): Readonly<Record<string, number>>;
  /** Each child process's state: `starting`, `running`, `restarting` or `crash-loop`. */
  childStates?(): Readonly<Record<string, string>>;
  /** Hook and webhook runs that failed since start, by kind (`hook`, `webhook`, `fifo`). */
  notifyFailures?(): Readonly<Record<string, number>>;
  /** Each health check's results and durations (absent: no check series). */
  checks?(): Promise<readonly CheckStatsView[] | undefined> | readonly CheckStatsView[] | undefined;
  /** Present only with `[bgp]`: the director's BGP status (undefined while it cannot be had; absent: no BGP series). */
  bgp?(): Promise<BgpStatus | undefined> | BgpStatus | undefined;
}

/** The states {@link MetricsSource.childStates} reports. */
const CHILD_STATES = ['starting', 'running', 'restarting', 'crash-loop'] as const;

/** How long one /status.json answer serves further requests (ms). */
export const STATUS_REUSE_MS = 1000;

/** The VRRP states a `lvsd_vrrp_state` series exists for (keepalived's FAULT included). */
export const VRRP_STATES = ['INIT', 'BACKUP', 'MASTER', 'FAULT'] as const;

/** One call shared by the collect callbacks of one scrape; `clear()` between scrapes. */
function shared<T>(fetch: () => Promise<T> | T): { get: () => Promise<T | undefined>; clear: () => void } {
  let inflight: Promise<T | undefined> | undefined;
  return {
    get: () => (inflight ??= Promise.resolve().then(fetch).catch(() => undefined)),
    clear: () => (inflight = undefined),
  };
}

/** The registry and what built it. */
export interface LvsdMetrics {
  readonly registry: Registry;
  /** One scrape: the text exposition, as served on /metrics (the sources are asked once each). */
  metrics(): Promise<string>;
  /** The status page's document, as served on /status.json (the sources are asked once each). */
  status(): Promise<StatusDocument>;
}

/** Builds lvsd's registry over `source`. Metric names and labels are the contract with dashboards. */
export function createMetrics(source: MetricsSource): LvsdMetrics {
  const registry = new Registry();
  const vrrpShared = shared(() => source.vrrp());
  const directorShared = shared(() => source.director());
  const vrrp = vrrpShared.get;
  const director = directorShared.get;
  const registers = [registry];
  const sharedOnes: Array<{ clear: () => void }> = [];

  new Gauge({
    name: 'lvsd_info',
    help: 'Always 1; the labels say which lvsd this is.',
    labelNames: ['version', 'router_id'],
    registers,
    collect() {
      this.reset();
      const i = source.info();
      this.set({ version: i.version, router_id: i.routerId }, 1);
    },
  });
  // When this process started (a crash loop shows as this changing often).
  const startedAt = Math.round(Date.now() / 1000 - process.uptime());
  new Gauge({
    name: 'lvsd_start_time_seconds',
    help: 'Start time of the lvsd process serving the metrics, seconds since the epoch.',
    registers,
    collect() {
      this.set(startedAt);
    },
  });
  if (source.reloads) {
    const reloads = source.reloads.bind(source);
    new Counter({
      name: 'lvsd_reloads_total',
      help: 'Configuration reloads since start, by result: ok (applied), refused (nothing changed) or failed (an error while applying).',
      labelNames: ['result'],
      registers,
      collect() {
        this.reset();
        const r = reloads();
        this.inc({ result: 'ok' }, r.ok);
        this.inc({ result: 'refused' }, r.refused ?? 0);
        this.inc({ result: 'failed' }, r.failed);
      },
    });
    new Gauge({
      name: 'lvsd_config_last_reload_successful',
      help: 'Whether the last reload applied (1) or was refused or failed (0); 1 before any reload.',
      registers,
      collect() {
        this.set(reloads().lastOk === false ? 0 : 1);
      },
    });
  }
  if (source.childRestarts) {
    const restarts = source.childRestarts.bind(source);
    new Counter({
      name: 'lvsd_child_restarts_total',
      help: 'Child processes restarted by the parent after they died, by process (vrrp, director, checker).',
      labelNames: ['process'],
      registers,
      collect() {
        this.reset();
        for (const [p, n] of Object.entries(restarts())) this.inc({ process: p }, n);
      },
    });
  }
  if (source.childStates) {
    const states = source.childStates.bind(source);
    new Gauge({
      name: 'lvsd_child_process_state',
      help: 'Each child process\'s state (1 for the current one): starting, running, restarting or crash-loop.',
      labelNames: ['process', 'state'],
      registers,
      collect() {
        this.reset();
        for (const [p, st] of Object.entries(states())) for (const one of CHILD_STATES) this.set({ process: p, state: one }, one === st ? 1 : 0);
      },
    });
  }
  if (source.notifyFailures) {
    const failures = source.notifyFailures.bind(source);
    new Counter({
      name: 'lvsd_notify_failures_total',
      help: 'Notify hooks, webhook deliveries and FIFO writes that failed, by kind (hook, webhook, fifo).',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        for (const [k, n] of Object.entries(failures())) this.inc({ kind: k }, n);
      },
    });
  }

  // --- VRRP (RFC 5798 §6.4 states; keepalived's FAULT) ---
  new Gauge({
    name: 'lvsd_vrrp_state',
    help: 'VRRP instance state: 1 for the state the instance is in, 0 for the others.',
    labelNames: ['instance', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const i of (await vrrp())?.instances ?? []) for (const s of VRRP_STATES) this.set({ instance: i.name, state: s }, i.state === s ? 1 : 0);
    },
  });
  new Counter({
    name: 'lvsd_vrrp_transitions_total',
    help: 'VRRP state changes since lvsd started, by the state entered.',
    labelNames: ['instance', 'state'],
    registers,
    collect() {
      this.reset();
      for (const [instance, byState] of Object.entries(source.transitions())) for (const [state, n] of Object.entries(byState)) this.inc({ instance, state }, n);
    },
  });
  new Counter({
    name: 'lvsd_vrrp_adverts_sent_total',
    help: 'VRRP advertisements sent.',
    labelNames: ['instance'],
    registers,
    async collect() {
      this.reset();
      for (const i of (await vrrp())?.instances ?? []) if (i.counters) this.inc({ instance: i.name }, i.counters.advertsSent);
    },
  });
  new Counter({
    name: 'lvsd_vrrp_adverts_received_total',
    help: 'VRRP advertisements received for the instance (before the state machine judged them).',
    labelNames: ['instance'],
    registers,
    async collect() {
      this.reset();
      for (const i of (await vrrp())?.instances ?? []) if (i.counters) this.inc({ instance: i.name }, i.counters.advertsReceived);
    },
  });
  new Counter({
    name: 'lvsd_vrrp_drops_total',
    help: 'Received VRRP packets dropped, by reason; instance="" for drops no instance owns (e.g. unknown VRID).',
    labelNames: ['instance', 'reason'],
    registers,
    async collect() {
      this.reset();
      const v = await vrrp();
      if (!v) return;
      for (const [reason, n] of Object.entries(v.drops)) this.inc({ instance: '', reason }, n);
      for (const i of v.instances) for (const [reason, n] of Object.entries(i.drops)) this.inc({ instance: i.name, reason }, n);
    },
  });
  new Gauge({
    name: 'lvsd_vrrp_instance_info',
    help: 'Always 1 per instance; the labels give its VRID and interface (join on instance to group by VRID).',
    labelNames: ['instance', 'vrid', 'interface'],
    registers,
    async collect() {
      this.reset();
      for (const i of (await vrrp())?.instances ?? []) if (typeof i.vrid === 'number') this.set({ instance: i.name, vrid: String(i.vrid), interface: i.interface ?? '' }, 1);
    },
  });
  new Gauge({
    name: 'lvsd_vrrp_priority',
    help: 'Effective VRRP priority (after tracking weights): what the instance advertises.',
    labelNames: ['instance'],
    registers,
    async collect() {
      this.reset();
      for (const i of (await vrrp())?.instances ?? []) this.set({ instance: i.name }, i.effectivePriority);
    },
  });
  new Gauge({
    name: 'lvsd_vrrp_base_priority',
    help: 'Configured VRRP priority.',
    labelNames: ['instance'],
    registers,
    async collect() {
      this.reset();
      for (const i of (await vrrp())?.instances ?? []) this.set({ instance: i.name }, i.basePriority);
    },
  });

  // --- Real servers (the director's judgement) ---
  const rsLabels = ['virtual_server', 'real_server', 'address'] as const;
  new Gauge({
    name: 'lvsd_real_server_up',
    help: 'Real server health as its checks judge it: 1 up, 0 down.',
    labelNames: rsLabels,
    registers,
    async collect() {
      this.reset();
      for (const vs of (await director())?.virtualServers ?? []) for (const rs of vs.realServers) this.set({ virtual_server: vs.name, real_server: rs.name, address: rs.address }, rs.health === 'up' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'lvsd_real_server_weight',
    help: 'The weight lvsd wants in the kernel for the real server; no series while lvsd wants it out of the table.',
    labelNames: rsLabels,
    registers,
    async collect() {
      this.reset();
      for (const vs of (await director())?.virtualServers ?? []) {
        for (const rs of vs.realServers) if (rs.effectiveWeight !== null) this.set({ virtual_server: vs.name, real_server: rs.name, address: rs.address }, rs.effectiveWeight);
      }
    },
  });
  new Gauge({
    name: 'lvsd_virtual_server_quorum_up',
    help: 'Virtual server quorum: 1 when the healthy weight reaches quorum, 0 when the sorry server (or nothing) serves.',
    labelNames: ['virtual_server', 'service'],
    registers,
    async collect() {
      this.reset();
      for (const vs of (await director())?.virtualServers ?? []) this.set({ virtual_server: vs.name, service: vs.service }, vs.quorum.up ? 1 : 0);
    },
  });

  // --- Health checks (where the checker feeds them) ---
  if (source.checks) {
    const checksShared = shared(() => source.checks!());
    sharedOnes.push(checksShared);
    registerCheckMetrics(registry, checksShared.get);
  }
  if (source.bgp) {
    const bgpShared = shared(() => source.bgp!());
    sharedOnes.push(bgpShared);
    registerBgpMetrics(registry, bgpShared.get);
  }

  // --- The reconciler and the sync daemon (the director process's counters: they restart with it) ---
  const reconcilerCounter = (name: string, help: string, field: 'errors' | 'driftRepaired' | 'passes' | 'opsApplied'): void => {
    new Counter({
      name,
      help,
      registers,
      async collect() {
        this.reset();
        const d = await director();
        if (d) this.inc(d.reconciler[field]);
      },
    });
  };
  reconcilerCounter('lvsd_reconciler_errors_total', 'IPVS operations and kernel reads that failed.', 'errors');
  reconcilerCounter('lvsd_reconciler_drift_repaired_total', 'Operations an audit made to undo changes made to the IPVS table behind lvsd\'s back.', 'driftRepaired');
  reconcilerCounter('lvsd_reconciler_passes_total', 'Reconciliation passes run.', 'passes');
  reconcilerCounter('lvsd_reconciler_operations_total', 'IPVS operations applied.', 'opsApplied');
  new Gauge({
    name: 'lvsd_sync_daemon_state',
    help: 'The IPVS connection sync daemon: 1 for the role running (master, backup), 0 for the other; no series without lvs_sync_daemon.',
    labelNames: ['role'],
    registers,
    async collect() {
      this.reset();
      const s = (await director())?.syncDaemon;
      if (s) for (const role of ['master', 'backup'] as const) this.set({ role }, s.running === role ? 1 : 0);
    },
  });

  // --- IPVS counters, as the kernel reports them ---
  const svcCounter = (name: string, help: string, field: 'conns' | 'inpkts' | 'outpkts' | 'inbytes' | 'outbytes'): void => {
    new Counter({
      name,
      help,
      labelNames: ['virtual_server', 'service'],
      registers,
      async collect() {
        this.reset();
        for (const vs of (await director())?.virtualServers ?? []) if (vs.stats) this.inc({ virtual_server: vs.name, service: vs.service }, vs.stats[field]);
      },
    });
  };
  svcCounter('lvsd_ipvs_service_connections_total', 'Connections the IPVS service scheduled since it was added.', 'conns');
  svcCounter('lvsd_ipvs_service_in_packets_total', 'Incoming packets of the IPVS service.', 'inpkts');
  svcCounter('lvsd_ipvs_service_out_packets_total', 'Outgoing packets of the IPVS service.', 'outpkts');
  svcCounter('lvsd_ipvs_service_in_bytes_total', 'Incoming bytes of the IPVS service.', 'inbytes');
  svcCounter('lvsd_ipvs_service_out_bytes_total', 'Outgoing bytes of the IPVS service.', 'outbytes');

  // The kernel's own rate estimator (2 s samples, averaged): what `ipvsadm -Ln --rate` shows.
  type RateField = 'cps' | 'inpps' | 'outpps' | 'inbps' | 'outbps';
  const RATES: ReadonlyArray<[RateField, string, string]> = [
    ['cps', 'connections_per_second', 'New connections per second'],
    ['inpps', 'in_packets_per_second', 'Incoming packets per second'],
    ['outpps', 'out_packets_per_second', 'Outgoing packets per second'],
    ['inbps', 'in_bytes_per_second', 'Incoming bytes per second'],
    ['outbps', 'out_bytes_per_second', 'Outgoing bytes per second'],
  ];
  for (const [field, suffix, what] of RATES) {
    new Gauge({
      name: `lvsd_ipvs_service_${suffix}`,
      help: `${what} of the IPVS service (the kernel's estimator).`,
      labelNames: ['virtual_server', 'service'],
      registers,
      async collect() {
        this.reset();
        for (const vs of (await director())?.virtualServers ?? []) if (vs.stats) this.set({ virtual_server: vs.name, service: vs.service }, vs.stats[field]);
      },
    });
    new Gauge({
      name: `lvsd_ipvs_real_server_${suffix}`,
      help: `${what} to the real server (the kernel's estimator).`,
      labelNames: rsLabels,
      registers,
      async collect() {
        this.reset();
        for (const vs of (await director())?.virtualServers ?? []) {
          for (const rs of vs.realServers) if (rs.kernel) this.set({ virtual_server: vs.name, real_server: rs.name, address: rs.address }, rs.kernel[field]);
        }
      },
    });
  }

  type DestField = 'activeConns' | 'inactConns' | 'conns' | 'inpkts' | 'outpkts' | 'inbytes' | 'outbytes' | 'weight';
  const destMetric = (kind: 'gauge' | 'counter', name: string, help: string, field: DestField): void => {
    const Ctor = kind === 'gauge' ? Gauge : Counter;
    new Ctor({
      name,
      help,
      labelNames: rsLabels,
      registers,
      async collect(this: Gauge<(typeof rsLabels)[number]> | Counter<(typeof rsLabels)[number]>) {
        this.reset();
        for (const vs of (await director())?.virtualServers ?? []) {
          for (const rs of vs.realServers) {
            const v = (rs.kernel as Record<string, unknown> | null)?.[field];
            if (typeof v !== 'number') continue;
            const labels = { virtual_server: vs.name, real_server: rs.name, address: rs.address };
            if (this instanceof Gauge) this.set(labels, v);
            else this.inc(labels, v);
          }
        }
      },
    });
  };
  destMetric('gauge', 'lvsd_ipvs_real_server_weight', 'The real server weight in the kernel table (no series while it is not in the table).', 'weight');
  destMetric('gauge', 'lvsd_ipvs_real_server_active_connections', 'Active connections to the real server (the kernel).', 'activeConns');
  destMetric('gauge', 'lvsd_ipvs_real_server_inactive_connections', 'Inactive connections to the real server (the kernel).', 'inactConns');
  destMetric('counter', 'lvsd_ipvs_real_server_connections_total', 'Connections scheduled to the real server since it was added.', 'conns');
  destMetric('counter', 'lvsd_ipvs_real_server_in_packets_total', 'Incoming packets to the real server.', 'inpkts');
  destMetric('counter', 'lvsd_ipvs_real_server_out_packets_total', 'Outgoing packets from the real server.', 'outpkts');
  destMetric('counter', 'lvsd_ipvs_real_server_in_bytes_total', 'Incoming bytes to the real server.', 'inbytes');
  destMetric('counter', 'lvsd_ipvs_real_server_out_bytes_total', 'Outgoing bytes from the real server.', 'outbytes');

  // Every open page asks every 2 s: pages asking within STATUS_REUSE_MS of one another share one
  // answer, so N browsers cost the director one status (and one kernel read) per interval.
  let lastStatus: { at: number; doc: Promise<StatusDocument> } | undefined;
  return {
    registry,
    status() {
      const now = performance.now();
      if (!lastStatus || now - lastStatus.at >= STATUS_REUSE_MS) {
        const doc = buildStatus(source);
        lastStatus = { at: now, doc };
        doc.catch(() => (lastStatus = undefined));
      }
      return lastStatus.doc;
    },
    async metrics() {
      const clear = (): void => [vrrpShared, directorShared, ...sharedOnes].forEach((x) => x.clear());
      clear();
      try {
        return await registry.metrics();
      } finally {
        clear();
      }
    },
  };
}
