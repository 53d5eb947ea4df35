/**
 * seat-map: read-heavy. Half of the requests go to one hot timeslot, the rest spread over the others
 * (load/README.md). Run: k6 run -e BASE_URL=http://127.0.0.1:8080 load/k6/seat-map.ts
 */
import http from 'k6/http';
import { check, fail } from 'k6';
import type { Options } from 'k6/options';
import {
  BASE_URL,
  jsonParams,
  stagesFromEnv,
  summaryOutputs,
  thresholds,
  type SummaryData,
} from './common.ts';

const HOT_SHARE = 0.5;
const CONCERTS_TO_DISCOVER = 20;

export const options: Options = {
  scenarios: {
    'seat-map': { executor: 'ramping-vus', startVUs: 0, stages: stagesFromEnv(), gracefulRampDown: '5s' },
  },
  thresholds: thresholds(),
};

interface Setup {
  timeslotIds: number[];
}

/** The timeslots of the first concerts, found through the API like a client would. */
export function setup(): Setup {
  const concerts = http.get(`${BASE_URL}/v1/concerts?limit=${CONCERTS_TO_DISCOVER}`, jsonParams());
  if (concerts.status !== 200) fail(`GET /v1/concerts answered ${concerts.status}`);
  const concertIds = (concerts.json('items.#.id') as number[] | null) ?? [];
  const timeslotIds = concertIds.flatMap((id) => {
    const res = http.get(`${BASE_URL}/v1/concerts/${id}/timeslots`, jsonParams());
    return res.status === 200 ? ((res.json('items.#.id') as number[] | null) ?? []) : [];
  });
  if (timeslotIds.length === 0) fail('no timeslots: seed the catalog first (npm run seed)');
  return { timeslotIds };
}

export default function seatMap({ timeslotIds }: Setup): void {
  const hot = Math.random() < HOT_SHARE;
  const id = hot ? timeslotIds[0] : timeslotIds[Math.floor(Math.random() * timeslotIds.length)];
  const res = http.get(
    `${BASE_URL}/v1/timeslots/${id}/seats`,
    jsonParams({}, { name: 'seat-map', hot: String(hot) }),
  );
  check(res, {
    'status is 200': (r) => r.status === 200,
    'has seats': (r) => r.status === 200 && ((r.json('seats.#') as number | null) ?? 0) > 0,
  });
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summaryOutputs('seat-map', data);
}
