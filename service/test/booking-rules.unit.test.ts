import {
  admissionRound,
  admissionSlots,
  estimatedWaitSeconds,
  type AdmissionPolicy,
} from '../src/queue/admission.js';
import { issueToken, verifyToken } from '../src/queue/tokens.js';
import {
  decideIdempotency,
  idempotencyKeyHeader,
  requestHash,
  type StoredKey,
} from '../src/payments/idempotency.js';

const policy: AdmissionPolicy = { perInterval: 100, intervalMs: 1_000, maxActive: 1_000 };

describe('admission', () => {
  test.each([
    // active, waiting, slots
    [0, 0, 0],
    [0, 5, 5],
    [0, 500, 100],
    [950, 500, 50],
    [1_000, 500, 0],
    [1_200, 500, 0], // over the cap (maxActive lowered at run time): admit nobody, never negative
  ])('active %i, waiting %i -> %i admitted this round', (active, waiting, slots) => {
    expect(admissionSlots(policy, active, waiting)).toBe(slots);
  });

  test.each([
    [{ perInterval: 100, intervalMs: 1_000, maxActive: 1 }, 1, 1],
    [{ perInterval: 100, intervalMs: 1_000, maxActive: 1 }, 100, 1],
    [{ perInterval: 100, intervalMs: 1_000, maxActive: 1 }, 101, 2],
    [{ perInterval: 10, intervalMs: 250, maxActive: 1 }, 95, 3], // 10 rounds of 250 ms = 2.5 s, rounded up
    [{ perInterval: 1, intervalMs: 3_600_000, maxActive: 1 }, 3, 10_800],
    [{ perInterval: 100, intervalMs: 1_000, maxActive: 1 }, 0, 0],
    // Not in the queue (no 1-based position): no wait, never a negative one.
    [{ perInterval: 100, intervalMs: 1_000, maxActive: 1 }, -150, 0],
  ])('%j: position %i waits about %i s', (p, position, seconds) => {
    expect(estimatedWaitSeconds(p, position)).toBe(seconds);
  });

  test('rounds are numbered by interval, so replicas agree on which round it is', () => {
    expect(admissionRound(policy, 9_999)).toBe(9);
    expect(admissionRound(policy, 10_000)).toBe(10);
  });
});

describe('queue tokens', () => {
  const secret = 'x'.repeat(32);
  const decoded = (token: string) =>
    token
      .split('.')
      .map((part) => Buffer.from(part, 'base64url').toString('hex'))
      .join('.');

  test('a token verifies with its secret only, and any altered byte breaks it', () => {
    const { token, claims } = issueToken(secret, 42, 1_700_000_000_000);
    expect(verifyToken(secret, token)).toEqual(claims);
    expect(verifyToken('y'.repeat(32), token)).toBeNull();
    for (let i = 0; i < token.length; i++) {
      const replacement = token[i] === 'A' ? 'B' : 'A';
      const altered = token.slice(0, i) + replacement + token.slice(i + 1);
      // A last base64url character carries padding bits: changing only those keeps the bytes.
      if (decoded(altered) === decoded(token)) continue;
      expect(verifyToken(secret, altered)).toBeNull();
    }
  });

  test.each(['', 'v1', 'v1..', 'v2.e30.AAAA', 'v1.e30.AAAA.extra', 'v1.%%%.AAAA'])(
    '%j is rejected',
    (token) => {
      expect(verifyToken(secret, token)).toBeNull();
    },
  );
});

describe('idempotency rules', () => {
  const now = 1_000_000;
  const key = (overrides: Partial<StoredKey>): StoredKey => ({
    requestHash: 'h1',
    state: 'DONE',
    lockedAt: now - 1_000,
    expiresAt: now + 60_000,
    ...overrides,
  });

  test.each<[string, string, StoredKey | undefined, string]>([
    ['no key stored', 'execute', undefined, 'h1'],
    ['finished, same request', 'replay', key({}), 'h1'],
    ['finished, another request', 'mismatch', key({}), 'h2'],
    ['running, same request', 'in-progress', key({ state: 'IN_PROGRESS' }), 'h1'],
    ['running, another request', 'mismatch', key({ state: 'IN_PROGRESS' }), 'h2'],
    [
      'running for longer than any request can',
      'take-over',
      key({ state: 'IN_PROGRESS', lockedAt: now - 60_000 }),
      'h1',
    ],
    ['expired, same request', 'take-over', key({ expiresAt: now }), 'h1'],
    ['expired, another request', 'take-over', key({ expiresAt: now - 1 }), 'h2'],
  ])('%s -> %s', (_case, decision, existing, hash) => {
    expect(decideIdempotency(existing, hash, now)).toBe(decision);
  });
});

describe('the Idempotency-Key header', () => {
  test.each<[string, string | undefined, boolean]>([
    ['absent', undefined, true],
    ['printable ASCII', 'pay-42_x.Y~!', true],
    ['255 characters', 'k'.repeat(255), true],
    ['empty', '', false],
    ['256 characters', 'k'.repeat(256), false],
    ['with a space', 'pay 42', false],
    ['with a control character', 'pay\x7f', false],
    ['non-ASCII', 'paŷ', false],
  ])('%s: accepted %s', (_name, value, accepted) => {
    expect(idempotencyKeyHeader.safeParse(value).success).toBe(accepted);
  });

  test('a refused key says why (the 400 problem carries it)', () => {
    const refused = idempotencyKeyHeader.safeParse('pay 42');
    expect(refused.error?.issues.map((issue) => issue.message)).toEqual(['printable ASCII without spaces']);
  });

  test('a request is hashed by its JSON: equal bodies share a hash, others do not', () => {
    expect(requestHash({ amount: 5 })).toBe(requestHash({ amount: 5 }));
    expect(requestHash({ amount: 5 })).not.toBe(requestHash({ amount: 6 }));
    expect(requestHash({ amount: 5 })).toMatch(/^[0-9a-f]{64}$/);
  });
});
