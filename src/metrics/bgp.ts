/**
 * The BGP series (issue 13), read on scrape from the director process's
 * `bgp status`: what each VIP's route is doing, whether BIRD answers, its BGP
 * sessions and their BFD sessions, and the sysctls active/active needs.
 */
import { Gauge, type Registry } from 'prom-client';
import type { BgpStatus } from '../bgp/service';

/** Registers the BGP gauges on `registry`; `bgp` is asked once per scrape (undefined: no series). */
export function registerBgpMetrics(registry: Registry, bgp: () => Promise<BgpStatus | undefined>): void {
  const registers = [registry];
  new Gauge({
    name: 'lvsd_bgp_announced',
    help: 'Whether lvsd announces the VIP over BGP: 1 when its route is in lvsd\'s table for BIRD to export, 0 when withdrawn or not decided yet.',
    labelNames: ['vip'],
    registers,
    async collect() {
      this.reset();
      for (const v of (await bgp())?.vips ?? []) this.set({ vip: v.vip }, v.state === 'announced' && v.route ? 1 : 0);
    },
  });
  new Gauge({
    name: 'lvsd_bgp_drained',
    help: '1 while the director is drained (lvsctl drain without arguments): every VIP withdrawn.',
    registers,
    async collect() {
      this.reset();
      const b = await bgp();
      if (b) this.set(b.drained ? 1 : 0);
    },
  });
  new Gauge({
    name: 'lvsd_bird_up',
    help: 'Whether BIRD\'s control socket answered the last poll (1) or not (0).',
    registers,
    async collect() {
      this.reset();
      const b = await bgp();
      if (b) this.set(b.bird.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'lvsd_bgp_protocol_up',
    help: 'Per BGP protocol of BIRD: 1 when its session is Established, else 0 (as last read).',
    labelNames: ['protocol'],
    registers,
    async collect() {
      this.reset();
      for (const p of (await bgp())?.protocols ?? []) this.set({ protocol: p.name }, p.bgpState === 'Established' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'lvsd_bgp_bfd_up',
    help: 'Per BGP protocol of BIRD: 1 when a BFD session to its neighbour is Up, else 0 (only with [bgp] bfd = true).',
    labelNames: ['protocol'],
    registers,
    async collect() {
      this.reset();
      const b = await bgp();
      if (!b?.bfdExpected) return;
      for (const p of b.protocols) this.set({ protocol: p.name }, p.bfd === 'Up' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'lvsd_bgp_sysctl_ok',
    help: 'Per IPVS sysctl active/active needs: 1 when it has the needed value, else 0.',
    labelNames: ['name'],
    registers,
    async collect() {
      this.reset();
      for (const s of (await bgp())?.sysctls ?? []) this.set({ name: s.name }, s.ok ? 1 : 0);
    },
  });
}
