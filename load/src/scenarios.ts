/**
 * The local twins of load/k6/*.ts. The shapes (requests, mix, expected statuses) are documented once in
 * load/README.md; k6 scripts cannot import Node code, so each side stays small.
 */
import { DEV_ISSUER_DIR, TOPUP_SCOPE, localIssuer, type LocalIssuer } from '@concert-booking/lib';
import type { Answer, LoadClient } from './client.js';

export interface ScenarioOptions {
  /** lock-counter: pessimistic | atomic | redis. */
  strategy: string;
  /** booking-flow: pause between steps (and between waiting-room polls). */
  thinkMs: number;
  /** booking-flow: the key folder of the issuer the service trusts (`npm start`'s development issuer by default). */
  issuerDir?: string;
}

export interface Scenario<State = unknown> {
  name: string;
  /** Finds what iterations need (timeslot ids) through the API, like a client would. */
  setup(client: LoadClient, options: ScenarioOptions): Promise<State>;
  /** One iteration of one virtual user. */
  iteration(client: LoadClient, state: State, options: ScenarioOptions): Promise<void>;
  /**
   * Unmeasured requests before the first stage (`--warm-up`), so that every configuration starts from
   * the same steady state (caches filled, pool connections open, code compiled) instead of paying its
   * one-time costs inside the first stages.
   */
  warmUp?(client: LoadClient, state: State, options: ScenarioOptions): Promise<void>;
}

const HOT_SHARE = 0.5;
/** Warm-up requests in flight at once: the service's default database pool size. */
const WARM_UP_CONCURRENCY = 10;
const LOCK_WARM_UP_REQUESTS = 100;
export const STRATEGIES = ['pessimistic', 'atomic', 'redis'] as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Runs `work` on every item, at most `concurrency` at a time. */
async function eachLimited<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

function field<T>(answer: Answer | undefined, key: string): T | undefined {
  const body = answer?.body;
  return typeof body === 'object' && body !== null
    ? ((body as Record<string, unknown>)[key] as T)
    : undefined;
}

async function discoverTimeslots(client: LoadClient, concerts: number): Promise<number[]> {
  const list = await client.request({ path: `/v1/concerts?limit=${concerts}` });
  const concertIds = (field<{ id: number }[]>(list, 'items') ?? []).map((c) => c.id);
  const timeslots = await Promise.all(
    concertIds.map(
      async (id) =>
        field<{ id: number }[]>(await client.request({ path: `/v1/concerts/${id}/timeslots` }), 'items') ??
        [],
    ),
  );
  const ids = timeslots.flat().map((t) => t.id);
  if (ids.length === 0) throw new Error('no timeslots: seed the catalog first (npm run seed)');
  return ids;
}

async function requestSeatMap(client: LoadClient, timeslotId: number | undefined): Promise<void> {
  const answer = await client.request({ path: `/v1/timeslots/${timeslotId}/seats` });
  if (answer && !(field<unknown[]>(answer, 'seats')?.length ?? 0)) client.checkFailed();
}

const seatMap: Scenario<number[]> = {
  name: 'seat-map',
  setup: (client) => discoverTimeslots(client, 20),
  iteration: (client, timeslotIds) =>
    requestSeatMap(client, Math.random() < HOT_SHARE ? timeslotIds[0] : pick(timeslotIds)),
  // Every timeslot the iterations can pick, once.
  warmUp: (client, timeslotIds) =>
    eachLimited(timeslotIds, WARM_UP_CONCURRENCY, (id) => requestSeatMap(client, id)),
};

const lockCounter: Scenario<null> = {
  name: 'lock-counter',
  async setup(_client, { strategy }) {
    if (!(STRATEGIES as readonly string[]).includes(strategy)) {
      throw new Error(`--strategy must be one of ${STRATEGIES.join(', ')}, got "${strategy}"`);
    }
    return null;
  },
  async iteration(client, _state, { strategy }) {
    const answer = await client.request({
      method: 'POST',
      path: `/v1/experiments/counter?strategy=${strategy}`,
    });
    if (answer && typeof field(answer, 'value') !== 'number') client.checkFailed();
  },
  warmUp: (client, state, options) =>
    eachLimited(Array.from({ length: LOCK_WARM_UP_REQUESTS }), WARM_UP_CONCURRENCY, () =>
      lockCounter.iteration(client, state, options),
    ),
};

const TOKEN_HEADER = 'queue-token';
const MAX_WAIT_POLLS = 60;
let lastUserId = 0;
/** Unique positive user ids within this process and across runs: time-based, at most 14 digits (the API takes 15). */
function nextUserId(): number {
  lastUserId = Math.max(lastUserId + 1, (Date.now() % 1e10) * 1000);
  return lastUserId;
}

const bookingFlow: Scenario<{ timeslotIds: number[]; issuer: LocalIssuer }> = {
  name: 'booking-flow',
  setup: async (client, { issuerDir }) => ({
    timeslotIds: await discoverTimeslots(client, 5),
    issuer: localIssuer(issuerDir ?? DEV_ISSUER_DIR),
  }),
  async iteration(client, { timeslotIds, issuer }, { thinkMs }) {
    const userId = nextUserId();
    // One token per buyer: the user's own, with the top-up scope a payment provider's callback would carry.
    const bearer = { authorization: `Bearer ${await issuer.sign(userId, { scopes: [TOPUP_SCOPE] })}` };
    const issued = await client.request({
      method: 'POST',
      path: '/v1/queue/tokens',
      headers: bearer,
      expect: [201],
    });
    const token = field<string>(issued, 'token');
    if (!token) return;
    const auth = { ...bearer, [TOKEN_HEADER]: token };
    let state = field<{ state: string }>(issued, 'status')?.state;
    for (let poll = 0; state !== 'ACTIVE' && poll < MAX_WAIT_POLLS; poll++) {
      await sleep(Math.max(thinkMs, 100));
      state = field<string>(
        await client.request({ path: '/v1/queue/tokens/current', headers: auth }),
        'state',
      );
    }
    if (state !== 'ACTIVE') return client.checkFailed();

    const timeslotId = pick(timeslotIds)!;
    const map = await client.request({ path: `/v1/timeslots/${timeslotId}/seats` });
    const seats = field<{ id: number; status: string; price: number }[]>(map, 'seats') ?? [];
    const seat = pick(seats.filter((s) => s.status === 'AVAILABLE'));
    if (!seat) return;
    await sleep(thinkMs);

    // 409: another buyer won the seat, an expected outcome of a sale.
    const hold = await client.request({
      method: 'POST',
      path: '/v1/reservations',
      body: { timeslotId, seatId: seat.id },
      headers: auth,
      expect: [201, 409],
    });
    const reservationId = field<number>(hold, 'id');
    if (hold?.status !== 201 || reservationId === undefined) return;
    await sleep(thinkMs);

    await client.request({
      method: 'POST',
      path: `/v1/users/${userId}/balance/charges`,
      body: { amount: seat.price },
      headers: { ...bearer, 'idempotency-key': `charge-${userId}` },
      expect: [201],
    });
    await client.request({
      method: 'POST',
      path: '/v1/payments',
      body: { reservationId },
      headers: { ...auth, 'idempotency-key': `pay-${userId}` },
      expect: [201],
    });
  },
};

export const SCENARIOS = {
  'seat-map': seatMap,
  'lock-counter': lockCounter,
  'booking-flow': bookingFlow,
} as Record<string, Scenario<unknown> | undefined>;
