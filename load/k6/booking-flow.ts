/**
 * booking-flow: one buyer per iteration, with think time between steps (load/README.md):
 * token -> wait until ACTIVE -> seat map -> hold an AVAILABLE seat -> charge the wallet -> pay.
 * A 409 on the hold (someone else won the seat) is an expected outcome, not a failure.
 * The buyers are USERS, `[[userId, jwt], ...]` with the top-up scope, one per VU (at least as many as VUs):
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 \
 *     -e USERS="$(npm run -s token -- --user 1000000 --count 200 --scope wallet:topup)" load/k6/booking-flow.ts
 */
import http from 'k6/http';
import { check, fail, sleep } from 'k6';
import exec from 'k6/execution';
import type { Options } from 'k6/options';
import {
  BASE_URL,
  jsonParams,
  stagesFromEnv,
  summaryOutputs,
  thresholds,
  type SummaryData,
} from './common.ts';

const TOKEN_HEADER = 'Queue-Token';
const THINK_SECONDS = Number(__ENV.THINK_SECONDS || '1');
const MAX_WAIT_POLLS = 60;

export const options: Options = {
  scenarios: {
    'booking-flow': {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: stagesFromEnv(),
      gracefulRampDown: '10s',
    },
  },
  thresholds: thresholds(),
};

interface Setup {
  timeslotIds: number[];
}

export function setup(): Setup {
  const concerts = http.get(`${BASE_URL}/v1/concerts?limit=5`, jsonParams());
  if (concerts.status !== 200) fail(`GET /v1/concerts answered ${concerts.status}`);
  const concertIds = (concerts.json('items.#.id') as number[] | null) ?? [];
  const timeslotIds = concertIds.flatMap(
    (id) => (http.get(`${BASE_URL}/v1/concerts/${id}/timeslots`).json('items.#.id') as number[] | null) ?? [],
  );
  if (timeslotIds.length === 0) fail('no timeslots: seed the catalog first (npm run seed)');
  return { timeslotIds };
}

const USERS = JSON.parse(__ENV.USERS || '[]') as [number, string][];

export default function bookingFlow({ timeslotIds }: Setup): void {
  if (USERS.length === 0)
    fail('set USERS: npm run -s token -- --user 1000000 --count 200 --scope wallet:topup');
  // Each VU is one buyer (the API allows one place in the queue per user); its iterations are that buyer's visits.
  const [user, jwt] = USERS[(exec.vu.idInTest - 1) % USERS.length]!;
  const visit = exec.scenario.iterationInTest;
  const bearer = { Authorization: `Bearer ${jwt}` };
  const issued = http.post(`${BASE_URL}/v1/queue/tokens`, null, jsonParams(bearer, { name: 'issue-token' }));
  // 200: the buyer's place from an earlier visit that ended before paying (a lost seat) is still theirs.
  if (!check(issued, { 'token issued': (r) => r.status === 201 || r.status === 200 })) return;
  const token = issued.json('token') as string;
  const auth = { ...bearer, [TOKEN_HEADER]: token };

  let state = issued.json('status.state');
  for (let poll = 0; state !== 'ACTIVE' && poll < MAX_WAIT_POLLS; poll++) {
    sleep(THINK_SECONDS);
    const current = http.get(
      `${BASE_URL}/v1/queue/tokens/current`,
      jsonParams(auth, { name: 'token-status' }),
    );
    check(current, { 'token status 200': (r) => r.status === 200 });
    state = current.json('state');
  }
  if (!check(state, { 'token became active': (s) => s === 'ACTIVE' })) return;

  const timeslotId = timeslotIds[Math.floor(Math.random() * timeslotIds.length)];
  const map = http.get(`${BASE_URL}/v1/timeslots/${timeslotId}/seats`, jsonParams({}, { name: 'seat-map' }));
  check(map, { 'seat map 200': (r) => r.status === 200 });
  const available = (
    (map.json('seats') as { id: number; status: string; price: number }[] | null) ?? []
  ).filter((s) => s.status === 'AVAILABLE');
  const seat = available[Math.floor(Math.random() * available.length)];
  if (!seat) return;
  sleep(THINK_SECONDS);

  const hold = http.post(`${BASE_URL}/v1/reservations`, JSON.stringify({ timeslotId, seatId: seat.id }), {
    ...jsonParams(auth, { name: 'hold' }),
    responseCallback: http.expectedStatuses(201, 409),
  });
  check(hold, { 'hold 201 or 409': (r) => r.status === 201 || r.status === 409 });
  if (hold.status !== 201) return;
  sleep(THINK_SECONDS);

  const charge = http.post(
    `${BASE_URL}/v1/users/${user}/balance/charges`,
    JSON.stringify({ amount: seat.price }),
    jsonParams({ ...bearer, 'Idempotency-Key': `charge-${user}-${visit}` }, { name: 'charge' }),
  );
  check(charge, { charged: (r) => r.status === 201 });

  const paid = http.post(
    `${BASE_URL}/v1/payments`,
    JSON.stringify({ reservationId: hold.json('id') }),
    jsonParams({ ...auth, 'Idempotency-Key': `pay-${user}-${visit}` }, { name: 'pay' }),
  );
  check(paid, { paid: (r) => r.status === 201 });
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summaryOutputs('booking-flow', data);
}
