// Leader election's pure rules, by table: who may take the lease, what a claim writes, the Lease it creates,
// when the record last changed, when a leader must step down. leader.test.ts runs the elector on a real Lease.
import {
  claimedRecord,
  mayAcquire,
  microTime,
  newLease,
  observe,
  renewOverdue,
  type LeaseRecord,
} from '../src/leader.js';

describe('mayAcquire (may this candidate take the lease?)', () => {
  const other: LeaseRecord = { holderIdentity: 'b', leaseDurationSeconds: 10 };
  test.each<[string, LeaseRecord, number, boolean]>([
    ['nobody holds it', {}, 0, true],
    ['its holder was released (empty identity)', { holderIdentity: '', leaseDurationSeconds: 10 }, 0, true],
    ['it holds it already', { holderIdentity: 'a', leaseDurationSeconds: 10 }, 0, true],
    ['another holds it, unchanged for less than the duration', other, 9_999, false],
    ['another holds it, unchanged for exactly the duration', other, 10_000, false],
    ['another holds it, unchanged for longer than the duration', other, 10_001, true],
    ['another holds it without a duration: any age will do', { holderIdentity: 'b' }, 1, true],
  ])('%s', (_name, record, unchangedForMs, expected) => {
    expect(mayAcquire(record, 'a', 1_000_000, 1_000_000 + unchangedForMs)).toBe(expected);
  });

  test('microTime has the six fractional digits the API server wants', () => {
    expect(microTime(new Date('2025-06-01T12:00:00.123Z'))).toBe('2025-06-01T12:00:00.123000Z');
  });
});

describe('claimedRecord (what a claim of the lease writes)', () => {
  const NOW = new Date('2025-06-01T12:00:00.500Z');
  const now = '2025-06-01T12:00:00.500000Z';
  const EARLIER = '2025-06-01T11:00:00.000000Z';
  /** A lease of `holderIdentity` for 10 s, acquired and renewed EARLIER. */
  const held = (holderIdentity: string, leaseTransitions: number): LeaseRecord => ({
    holderIdentity,
    leaseDurationSeconds: 10,
    acquireTime: EARLIER,
    renewTime: EARLIER,
    leaseTransitions,
  });
  /** What 'a' writes claiming it for 15 s at NOW. */
  const claimed = (acquireTime: string, leaseTransitions: number): LeaseRecord => ({
    holderIdentity: 'a',
    leaseDurationSeconds: 15,
    acquireTime,
    renewTime: now,
    leaseTransitions,
  });
  test.each<[string, LeaseRecord, LeaseRecord]>([
    ['a new lease: a first term, no transition', {}, claimed(now, 0)],
    [
      'a renewal: the same term (acquireTime, transitions), its own duration',
      held('a', 3),
      claimed(EARLIER, 3),
    ],
    ['a take-over from another holder: a new term, one more transition', held('b', 3), claimed(now, 4)],
    [
      'a released lease (empty holder): a new term, no transition (nobody lost it)',
      held('', 3),
      claimed(now, 3),
    ],
    ['a holder without a transition count: counted from 0', { holderIdentity: 'b' }, claimed(now, 1)],
  ])('%s', (_name, record, expected) => {
    expect(claimedRecord(record, 'a', 15, NOW)).toEqual(expected);
  });
});

test('newLease: a coordination.k8s.io/v1 Lease of the namespace and name, its first term claimed', () => {
  const config = { namespace: 'ns', name: 'controller', identity: 'a', leaseDurationSeconds: 15 };
  const now = new Date('2025-06-01T12:00:00.500Z');
  expect(newLease(config, now)).toEqual({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'controller', namespace: 'ns' },
    spec: claimedRecord({}, 'a', 15, now),
  });
});

describe('observe (when did the lease record last change, by our clock?)', () => {
  const record: LeaseRecord = { holderIdentity: 'b', renewTime: '2025-06-01T12:00:00.000000Z' };
  test.each<[string, LeaseRecord, number]>([
    ['the same holder and renewTime: still the first sighting', record, 1_000],
    ['a renewal (new renewTime): now', { ...record, renewTime: '2025-06-01T12:00:02.000000Z' }, 5_000],
    ['a new holder with the same renewTime: now', { ...record, holderIdentity: 'c' }, 5_000],
  ])('%s', (_name, next, expectedAtMs) => {
    const first = observe(undefined, record, 1_000);
    expect(first.atMs).toBe(1_000);
    expect(observe(first, next, 5_000).atMs).toBe(expectedAtMs);
  });
});

describe('renewOverdue (must a leader step down?)', () => {
  test.each<[string, number, boolean]>([
    ['renewed just now', 0, false],
    ['renewed exactly the deadline ago', 3_000, false],
    ['renewed longer than the deadline ago', 3_001, true],
  ])('%s', (_name, sinceRenewMs, expected) => {
    expect(renewOverdue(100_000, 100_000 + sinceRenewMs, 3_000)).toBe(expected);
  });
});
