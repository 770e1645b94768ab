import * as assert from 'node:assert/strict';
import { formatDuration, formatEvents, formatReload, formatShowVrrp, formatStatus, isStatusResult } from '../../src/control/format';
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
    assert.equal(
      formatEvents({ events: [{ at: '2026-01-10T11:58:00.000Z', instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired' }] }),
      'AT                        INSTANCE  FROM    TO      REASON\n2026-01-10T11:58:00.000Z  VI_1      BACKUP  MASTER  master down timer expired\n',
    );
    assert.equal(formatEvents({ events: [] }), 'no events\n');
    assert.equal(formatReload({ changes: [] }), 'reload: configuration unchanged\n');
    assert.equal(formatReload({ changes: ['instance VI_2 added'] }), 'reload: 1 change applied\n  instance VI_2 added\n');
  });

  it('recognises a status answer and rejects other shapes', () => {
    assert.ok(isStatusResult(sampleStatus(NOW)));
    assert.ok(!isStatusResult({ instances: [{ name: 'x' }] }));
    assert.ok(!isStatusResult([]));
  });
});
