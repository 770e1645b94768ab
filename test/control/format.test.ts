import * as assert from 'node:assert/strict';
import { formatDuration, formatEvents,
  isEventsResult, formatReload, formatShowVrrp, formatStatus, isStatusResult } from '../../src/control/format';
import { sampleStatus } from './fixtures';

const NOW = new Date('2026-01-10T12:00:00.000Z');

describe('control/format', () => {
  it('formats durations the way operators read them', () => {
    assert.deepEqual([0, 45_900, 125_000, 3_600_000 + 7 * 60_000, 4 * 86_400_000 + 2 * 3_600_000, -5000].map(formatDuration), [
      '0s',
      '45s',
      '2m05s',
      '1h07m',
      '4d02h',
      '0s',
    ]);
  });

  it('renders status as an aligned table, then the non-zero drop counters', () => {
    assert.equal(
      formatStatus(sampleStatus(NOW), NOW),
      [
        'lvsd 0.1.0, router_id lvs-a, pid 4242, up 2h03m',
        'NAME       STATE   PRIO     VRID  IFACE  MASTER           LAST-CHANGE  REASON',
        'VI_1       MASTER  90/150   51    eth0   192.0.2.11 (90)  2m05s ago    master down timer expired',
        'VI_INSIDE  BACKUP  100/100  52    eth1   -                -            -',
        'drops:',
        '  interface:  unknown_vrid=3',
        '  VI_1:       bad_ttl=2 vip_mismatch=1',
        '',
      ].join('\n'),
    );
  });

  it('says so when there are no instances and no drops', () => {
    const st = { ...sampleStatus(NOW), instances: [], drops: {} };
    assert.equal(formatStatus(st, NOW), 'lvsd 0.1.0, router_id lvs-a, pid 4242, up 2h03m\nno VRRP instances configured\n');
  });

  it('lists the child processes, with restarts and the last exit, when the supervisor gives them', () => {
    const st = {
      ...sampleStatus(NOW),
      instances: [],
      drops: {},
      processes: {
        vrrp: { pid: 11, state: 'running' as const, restarts: 0, lastExit: null },
        director: { pid: null, state: 'crash-loop' as const, restarts: 4, lastExit: 'SIGKILL' },
      },
    };
    assert.equal(
      formatStatus(st, NOW),
      'lvsd 0.1.0, router_id lvs-a, pid 4242, up 2h03m\nprocesses: vrrp pid 11 running, director crash-loop (4 restarts, last exit SIGKILL)\nno VRRP instances configured\n',
    );
  });

  it('says why the priority is what it is: each tracked item, its state, weight and effect', () => {
    const base = sampleStatus(NOW);
    const inst = {
      ...base.instances[0]!,
      tracking: [
        { kind: 'script', name: 'chk_web', state: 'down', weight: -60, contribution: -60 },
        { kind: 'interface', name: 'eth1', state: 'up', weight: 0, contribution: 0 },
        { kind: 'script', name: 'chk_maint', state: 'up', weight: 0, reverse: true, contribution: 0, fault: true },
      ],
    };
    const text = formatShowVrrp({ ...base, instances: [inst] }, NOW);
    assert.ok(text.includes('script chk_web down weight -60 (-60), interface eth1 up weight 0 (no effect), script chk_maint up (reverse) weight 0 (FAULT)'), text);
    assert.ok(formatShowVrrp({ ...base, instances: [{ ...inst, tracking: [] }] }, NOW).includes('nothing tracked'));
  });

  it('renders show vrrp with every field', () => {
    const text = formatShowVrrp(sampleStatus(NOW), NOW);
    for (const want of [
      'VRRP instance VI_1',
      'MASTER since 2m05s ago (BACKUP -> MASTER: master down timer expired)',
      '51 on eth0',
      'VRRPv3, IPv4, transport raw',
      '90 effective, 150 configured',
      '192.0.2.100/24, 2001:db8::100/64',
      'none (multicast)',
      'G1',
      'pseudo-header',
      'bad_ttl=2 vip_mismatch=1',
      'VRRP instance VI_INSIDE',
      '0.1s',
      '198.51.100.12',
      'not seen',
      'interface drops: unknown_vrid=3',
    ]) {
      assert.ok(text.includes(want), `show vrrp mentions ${JSON.stringify(want)}:\n${text}`);
    }
  });

  it('renders events and reload answers', () => {
    const transition = { seq: 7, at: '2026-01-10T11:58:00.000Z', subsystem: 'vrrp', severity: 'info', subject: 'VI_1', message: 'BACKUP -> MASTER: master down timer expired', fields: {}, instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired' } as const;
    const down = { seq: 8, at: '2026-01-10T11:59:00.000Z', subsystem: 'notify', severity: 'error', subject: 'ops', message: 'webhook https://hooks.example/x failed after 4 attempt(s): HTTP 500', fields: {} } as const;
    assert.equal(
      formatEvents({ events: [transition, down], seq: 8 }),
      'AT                        SUBSYSTEM    LEVEL  SUBJECT       MESSAGE\n' +
        '2026-01-10T11:58:00.000Z  vrrp         info   VI_1          BACKUP -> MASTER: master down timer expired\n' +
        '2026-01-10T11:59:00.000Z  notify       error  ops           webhook https://hooks.example/x failed after 4 attempt(s): HTTP 500\n',
    );
    // An older lvsd's transitions-only answer still prints, in the same form.
    const old = { events: [{ at: '2026-01-10T11:58:00.000Z', instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired' }] };
    assert.ok(isEventsResult(old));
    assert.equal(formatEvents(old as never), formatEvents({ events: [transition], seq: 7 }));
    assert.ok(!isEventsResult({ events: [{ at: 'x' }] }));
    assert.equal(formatEvents({ events: [], seq: 0 }), 'no events\n');
    assert.equal(formatReload({ changes: [] }), 'reload: configuration unchanged\n');
    assert.equal(formatReload({ changes: ['instance VI_2 added'] }), 'reload: 1 change applied\n  instance VI_2 added\n');
  });

  it('recognises a status answer and rejects other shapes', () => {
    assert.ok(isStatusResult(sampleStatus(NOW)));
    assert.ok(!isStatusResult({ instances: [{ name: 'x' }] }));
    assert.ok(!isStatusResult([]));
  });
});
