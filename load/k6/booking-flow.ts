/**
 * booking-flow: one buyer per iteration, with think time between steps (load/README.md):
 * token -> wait until ACTIVE -> seat map -> hold an AVAILABLE seat -> charge the wallet -> pay.
 * A 409 on the hold (someone else won the seat) is an expected outcome, not a failure.
 * Run: k6 run -e BASE_URL=http://127.0.0.1:8080 load/k6/booking-flow.ts
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

/** A user id no other iteration uses: time-based, at most 14 digits (the API takes 15). */
function userId(): number {
  return (Date.now() % 1e10) * 1000 + (exec.scenario.iterationInTest % 1000) + 1;
}

export default function bookingFlow({ timeslotIds }: Setup): void {
  const user = userId();
  const issued = http.post(
    `${BASE_URL}/v1/queue/tokens`,
    JSON.stringify({ userId: user }),
    jsonParams({}, { name: 'issue-token' }),
  );
  if (!check(issued, { 'token issued': (r) => r.status === 201 })) return;
  const token = issued.json('token') as string;
  const auth = { [TOKEN_HEADER]: token };

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
    jsonParams({ 'Idempotency-Key': `charge-${user}` }, { name: 'charge' }),
  );
  check(charge, { charged: (r) => r.status === 201 });

  const paid = http.post(
    `${BASE_URL}/v1/payments`,
    JSON.stringify({ reservationId: hold.json('id') }),
    jsonParams({ ...auth, 'Idempotency-Key': `pay-${user}` }, { name: 'pay' }),
  );
  check(paid, { paid: (r) => r.status === 201 });
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summaryOutputs('booking-flow', data);
}
