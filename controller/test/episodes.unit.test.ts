import { alertRole } from '../src/api/alert-role.js';
import {
  applyNotification,
  applyResync,
  MAX_EPISODES,
  RESOLVED_MEMORY_MS,
  type AlertState,
  type Notification,
} from '../src/alerts/episodes.js';

const NOW = new Date('2025-06-01T12:00:00.000Z');
const at = (minutesAfterNoon: number) => new Date(NOW.getTime() + minutesAfterNoon * 60_000).toISOString();
const EMPTY: AlertState = { firingAlerts: [], resolvedAlerts: [] };
const START = '2025-06-01T11:00:00.000Z';
const NAME = 'BookingHighP90Latency';

const firing = (fingerprint: string, startsAt = START): Notification => ({
  status: 'firing',
  fingerprint,
  startsAt,
  alertName: NAME,
  role: 'scale',
});
const resolved = (fingerprint: string, startsAt = START, endsAt?: string): Notification => ({
  status: 'resolved',
  fingerprint,
  startsAt,
  alertName: NAME,
  role: 'scale',
  ...(endsAt ? { endsAt } : {}),
});
const episode = (fingerprint: string, lastNotifiedTime = at(-30), startsAt = START) => ({
  fingerprint,
  startsAt,
  alertName: NAME,
  role: 'scale' as const,
  lastNotifiedTime,
});
const tombstone = (fingerprint: string, resolvedTime: string, startsAt = START) => ({
  fingerprint,
  startsAt,
  resolvedTime,
});

/** Notifications applied in order, each at its own minute after NOW. */
function replay(state: AlertState, steps: [minute: number, alert: Notification][]) {
  const outcomes: string[] = [];
  for (const [minute, alert] of steps) {
    const result = applyNotification(state, alert, new Date(at(minute)));
    state = result.state;
    outcomes.push(result.outcome);
  }
  return { state, outcomes };
}

describe('applyNotification (one Alertmanager notification against the known episodes)', () => {
  test.each<{
    name: string;
    state?: AlertState;
    steps: [number, Notification][];
    outcomes: string[];
    expected: Partial<AlertState>;
  }>([
    {
      name: 'a new firing episode is recorded with the time it was heard',
      steps: [[0, firing('a')]],
      outcomes: ['new'],
      expected: { firingAlerts: [episode('a', at(0))], resolvedAlerts: [], lastFiringTime: undefined },
    },
    {
      name: 'a repeat of a firing episode refreshes lastNotifiedTime only',
      steps: [
        [0, firing('a')],
        [2, firing('a')],
      ],
      outcomes: ['new', 'repeat'],
      expected: { firingAlerts: [episode('a', at(2))], resolvedAlerts: [] },
    },
    {
      name: 'a repeat of one episode leaves the others as they were heard',
      steps: [
        [0, firing('a')],
        [1, firing('b')],
        [2, firing('a')],
      ],
      outcomes: ['new', 'new', 'repeat'],
      expected: { firingAlerts: [episode('a', at(2)), episode('b', at(1))], resolvedAlerts: [] },
    },
    {
      name: 'resolving a firing episode moves it to resolved and starts the window there',
      steps: [
        [0, firing('a')],
        [3, resolved('a')],
      ],
      outcomes: ['new', 'resolved'],
      expected: { firingAlerts: [], resolvedAlerts: [tombstone('a', at(3))], lastFiringTime: at(3) },
    },
    {
      name: 'a repeated "resolved" changes nothing: the window keeps its first start',
      steps: [
        [0, firing('a')],
        [3, resolved('a')],
        [9, resolved('a')],
      ],
      outcomes: ['new', 'resolved', 'repeat'],
      expected: { firingAlerts: [], resolvedAlerts: [tombstone('a', at(3))], lastFiringTime: at(3) },
    },
    {
      name: 'a firing for an episode already resolved is stale',
      steps: [
        [0, firing('a')],
        [3, resolved('a')],
        [4, firing('a')],
      ],
      outcomes: ['new', 'resolved', 'stale'],
      expected: { firingAlerts: [], resolvedAlerts: [tombstone('a', at(3))] },
    },
    {
      name: 'a newer episode of the same alert ends the older one (its "resolved" was lost)',
      steps: [
        [0, firing('a', '2025-06-01T10:00:00.000Z')],
        [5, firing('a', '2025-06-01T11:00:00.000Z')],
      ],
      outcomes: ['new', 'new'],
      expected: {
        firingAlerts: [episode('a', at(5), '2025-06-01T11:00:00.000Z')],
        resolvedAlerts: [tombstone('a', at(5), '2025-06-01T10:00:00.000Z')],
        lastFiringTime: at(5),
      },
    },
    {
      name: 'an older episode arriving after a newer one is stale',
      steps: [
        [0, firing('a', '2025-06-01T11:00:00.000Z')],
        [1, firing('a', '2025-06-01T10:00:00.000Z')],
      ],
      outcomes: ['new', 'stale'],
      expected: { firingAlerts: [episode('a', at(0), '2025-06-01T11:00:00.000Z')], resolvedAlerts: [] },
    },
    {
      name: 'another fingerprint with an earlier start is a new episode, not stale',
      steps: [
        [0, firing('a', '2025-06-01T11:00:00.000Z')],
        [1, firing('b', '2025-06-01T10:00:00.000Z')],
      ],
      outcomes: ['new', 'new'],
      expected: {
        firingAlerts: [
          episode('a', at(0), '2025-06-01T11:00:00.000Z'),
          episode('b', at(1), '2025-06-01T10:00:00.000Z'),
        ],
      },
    },
    {
      name: 'resolving one of two firing episodes keeps the other',
      steps: [
        [0, firing('a')],
        [0, firing('b')],
        [2, resolved('b')],
      ],
      outcomes: ['new', 'new', 'resolved'],
      expected: { firingAlerts: [episode('a', at(0))], resolvedAlerts: [tombstone('b', at(2))] },
    },
    {
      name: 'resolved before ever firing: a tombstone, and the window starts at its endsAt',
      steps: [[0, resolved('a', START, at(-1))]],
      outcomes: ['unknownResolved'],
      expected: { firingAlerts: [], resolvedAlerts: [tombstone('a', at(0))], lastFiringTime: at(-1) },
    },
    {
      name: 'resolved before firing with an endsAt in the future: the window starts now',
      steps: [[0, resolved('a', START, at(5))]],
      outcomes: ['unknownResolved'],
      expected: { lastFiringTime: at(0) },
    },
    {
      name: 'resolved before firing without endsAt: the window starts now',
      steps: [[0, resolved('a')]],
      outcomes: ['unknownResolved'],
      expected: { lastFiringTime: at(0) },
    },
    {
      name: 'a later resolution moves the start of the window forward',
      state: { firingAlerts: [episode('a')], resolvedAlerts: [], lastFiringTime: at(-10) },
      steps: [[0, resolved('a')]],
      outcomes: ['resolved'],
      expected: { lastFiringTime: at(0) },
    },
    {
      name: 'a later endsAt moves the start of the window forward',
      state: { firingAlerts: [], resolvedAlerts: [], lastFiringTime: at(-10) },
      steps: [[0, resolved('a', START, at(-1))]],
      outcomes: ['unknownResolved'],
      expected: { lastFiringTime: at(-1) },
    },
    {
      name: 'lastFiringTime never moves backwards (an early endsAt after a later resolution)',
      state: { firingAlerts: [], resolvedAlerts: [], lastFiringTime: at(-2) },
      steps: [[0, resolved('a', START, at(-10))]],
      outcomes: ['unknownResolved'],
      expected: { lastFiringTime: at(-2) },
    },
    {
      name: 'lastFiringTime never moves backwards (a resolution at a clock behind it)',
      state: { firingAlerts: [episode('a')], resolvedAlerts: [], lastFiringTime: at(5) },
      steps: [[0, resolved('a')]],
      outcomes: ['resolved'],
      expected: { lastFiringTime: at(5) },
    },
    {
      name: 'a resolution half an hour ago is still remembered: its late firing is stale',
      state: { firingAlerts: [], resolvedAlerts: [tombstone('a', at(-30))], lastFiringTime: at(-30) },
      steps: [
        [0, firing('b')],
        [1, firing('a')],
      ],
      outcomes: ['new', 'stale'],
      expected: { resolvedAlerts: [tombstone('a', at(-30))] },
    },
    {
      name: 'a resolution older than the memory is forgotten on the next change',
      state: {
        firingAlerts: [],
        resolvedAlerts: [tombstone('old', at(-61)), tombstone('kept', at(-60))],
      },
      steps: [[0, firing('b')]],
      outcomes: ['new'],
      expected: { resolvedAlerts: [tombstone('kept', at(-60))] },
    },
  ])('$name', ({ state = EMPTY, steps, outcomes, expected }) => {
    const result = replay(state, steps);
    expect(result.outcomes).toEqual(outcomes);
    const { lastFiringTime, ...lists } = expected;
    expect(result.state).toMatchObject(lists);
    if ('lastFiringTime' in expected) expect(result.state.lastFiringTime).toBe(lastFiringTime);
  });

  test('the memory of resolved episodes is one hour', () => {
    expect(RESOLVED_MEMORY_MS).toBe(60 * 60_000);
  });

  test('at most MAX_EPISODES of each kind are kept: the newest', () => {
    const many = Array.from({ length: MAX_EPISODES }, (_, i) => episode(`f${i}`));
    const gone = Array.from({ length: MAX_EPISODES }, (_, i) => tombstone(`r${i}`, at(-1)));
    const { state } = replay({ firingAlerts: many, resolvedAlerts: gone }, [
      [0, firing('newest')],
      [0, resolved('late', START, at(-1))],
    ]);
    expect(state.firingAlerts).toHaveLength(MAX_EPISODES);
    expect(state.firingAlerts[0]!.fingerprint).toBe('f1');
    expect(state.firingAlerts.at(-1)!.fingerprint).toBe('newest');
    expect(state.resolvedAlerts).toHaveLength(MAX_EPISODES);
    expect(state.resolvedAlerts[0]!.fingerprint).toBe('r1');
    expect(state.resolvedAlerts.at(-1)!.fingerprint).toBe('late');
  });

  test('a state that needs no change is returned as it is', () => {
    const state: AlertState = { firingAlerts: [], resolvedAlerts: [tombstone('a', at(-1))] };
    expect(applyNotification(state, firing('a'), NOW).state).toBe(state);
    expect(applyNotification(state, resolved('a'), NOW).state).toBe(state);
  });
});

describe('applyResync (Alertmanager lists what is active)', () => {
  const fetchedAt = new Date(at(0));
  const now = new Date(at(1));
  const active = (fingerprint: string, startsAt = START) => ({
    fingerprint,
    startsAt,
    alertName: NAME,
    role: 'scale' as const,
  });

  test('an episode it does not list, last heard before the fetch, is resolved now', () => {
    const next = applyResync(
      { firingAlerts: [episode('a', at(-1))], resolvedAlerts: [] },
      [],
      fetchedAt,
      now,
    );
    expect(next).toMatchObject({
      firingAlerts: [],
      resolvedAlerts: [tombstone('a', at(1))],
      lastFiringTime: at(1),
    });
  });

  test('two episodes it does not list are both resolved, a listed one stays', () => {
    const next = applyResync(
      {
        firingAlerts: [episode('a', at(-1)), episode('b', at(-1)), episode('c', at(-1))],
        resolvedAlerts: [],
      },
      [active('c')],
      fetchedAt,
      now,
    );
    expect(next.firingAlerts).toEqual([episode('c', at(-1))]);
    expect(next.resolvedAlerts).toEqual([tombstone('a', at(1)), tombstone('b', at(1))]);
  });

  test('an episode heard at the very moment of the fetch is kept (the webhook may be newer)', () => {
    const state: AlertState = { firingAlerts: [episode('a', at(0))], resolvedAlerts: [] };
    expect(applyResync(state, [], fetchedAt, now).firingAlerts).toEqual([episode('a', at(0))]);
  });

  test('a listed episode it did not know is added, heard at the fetch; a known one is kept once', () => {
    const state: AlertState = { firingAlerts: [episode('a', at(-5))], resolvedAlerts: [] };
    const next = applyResync(state, [active('a'), active('b')], fetchedAt, now);
    expect(next.firingAlerts).toEqual([episode('a', at(-5)), episode('b', at(0))]);
    expect(next.resolvedAlerts).toEqual([]);
    expect(next.lastFiringTime).toBeUndefined();
  });

  test('the same fingerprint with another startsAt is another episode', () => {
    const state: AlertState = { firingAlerts: [episode('a', at(-5))], resolvedAlerts: [] };
    const next = applyResync(state, [active('a', '2025-06-01T11:30:00.000Z')], fetchedAt, now);
    expect(next.firingAlerts.map((f) => f.startsAt)).toEqual(['2025-06-01T11:30:00.000Z']);
    expect(next.resolvedAlerts).toEqual([tombstone('a', at(1))]);
  });

  test('an episode it lists as active is no longer remembered as resolved; others stay', () => {
    const state: AlertState = {
      firingAlerts: [],
      resolvedAlerts: [tombstone('a', at(-2)), tombstone('b', at(-2))],
    };
    const next = applyResync(state, [active('a')], fetchedAt, now);
    expect(next.resolvedAlerts).toEqual([tombstone('b', at(-2))]);
    expect(next.firingAlerts).toEqual([episode('a', at(0))]);
  });
});

describe('alertRole (which alerts count for an AlertScaler, and how)', () => {
  const noSaturation = { alerts: [], holdSeconds: 0 };
  const spec = (matchers: { name: string; op: '=' | '!=' | '=~' | '!~'; value: string }[]) => ({
    alerts: [{ alertName: NAME, matchers }],
    saturation: noSaturation,
  });
  test.each<[string, Parameters<typeof spec>[0], Record<string, string>, boolean]>([
    ['the alert name alone', [], { alertname: NAME }, true],
    ['another alert name', [], { alertname: 'BookingRedisDown' }, false],
    [
      '= holds',
      [{ name: 'autoscale', op: '=', value: 'booking' }],
      { alertname: NAME, autoscale: 'booking' },
      true,
    ],
    [
      '= fails',
      [{ name: 'autoscale', op: '=', value: 'booking' }],
      { alertname: NAME, autoscale: 'other' },
      false,
    ],
    [
      '= on a missing label is the empty value',
      [{ name: 'x', op: '=', value: '' }],
      { alertname: NAME },
      true,
    ],
    ['!= holds', [{ name: 'env', op: '!=', value: 'dev' }], { alertname: NAME, env: 'prod' }, true],
    ['!= fails', [{ name: 'env', op: '!=', value: 'dev' }], { alertname: NAME, env: 'dev' }, false],
    [
      '=~ is anchored: a whole match holds',
      [{ name: 'ns', op: '=~', value: 'book.*' }],
      { alertname: NAME, ns: 'booking' },
      true,
    ],
    [
      '=~ is anchored: a partial match fails',
      [{ name: 'ns', op: '=~', value: 'ook' }],
      { alertname: NAME, ns: 'booking' },
      false,
    ],
    [
      '=~ alternatives stay inside the anchors',
      [{ name: 'ns', op: '=~', value: 'a|b' }],
      { alertname: NAME, ns: 'ab' },
      false,
    ],
    ['!~ holds', [{ name: 'ns', op: '!~', value: 'dev.*' }], { alertname: NAME, ns: 'prod' }, true],
    ['!~ fails', [{ name: 'ns', op: '!~', value: 'dev.*' }], { alertname: NAME, ns: 'dev-1' }, false],
    [
      'every matcher must hold',
      [
        { name: 'a', op: '=', value: '1' },
        { name: 'b', op: '=', value: '2' },
      ],
      { alertname: NAME, a: '1', b: '3' },
      false,
    ],
  ])('%s', (_name, matchers, labels, expected) => {
    expect(alertRole(spec(matchers), labels)).toBe(expected ? 'scale' : undefined);
  });

  test('any of several alert entries may match', () => {
    const two = {
      alerts: [
        { alertName: 'A', matchers: [] },
        { alertName: 'B', matchers: [] },
      ],
      saturation: noSaturation,
    };
    expect(alertRole(two, { alertname: 'B' })).toBe('scale');
    expect(alertRole(two, { alertname: 'C' })).toBeUndefined();
  });

  test('an alert of saturation.alerts has the saturation role; one in both lists scales', () => {
    const both = {
      alerts: [{ alertName: 'A', matchers: [] }],
      saturation: {
        alerts: [
          { alertName: 'Pool', matchers: [] },
          { alertName: 'A', matchers: [] },
        ],
        holdSeconds: 0,
      },
    };
    expect(alertRole(both, { alertname: 'Pool' })).toBe('saturation');
    expect(alertRole(both, { alertname: 'A' })).toBe('scale');
  });
});
