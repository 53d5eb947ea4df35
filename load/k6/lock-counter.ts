/**
 * lock-counter: the incident document's lock experiment. One k6 scenario per strategy, run one after
 * another with the same stages, each with its own thresholds (the service needs EXPERIMENTS_ENABLED=true).
 * Run: k6 run -e BASE_URL=http://127.0.0.1:8080 -e STRATEGIES=pessimistic,atomic load/k6/lock-counter.ts
 */
import http from 'k6/http';
import { check } from 'k6';
import type { Options, Scenario } from 'k6/options';
import {
  BASE_URL,
  jsonParams,
  stagesFromEnv,
  stagesSeconds,
  summaryOutputs,
  thresholds,
  type SummaryData,
} from './common.ts';

const ALL = ['pessimistic', 'atomic', 'redis'];
const strategies = (__ENV.STRATEGIES || ALL.join(',')).split(',').map((s) => s.trim());
for (const s of strategies) if (!ALL.includes(s)) throw new Error(`STRATEGIES: unknown strategy "${s}"`);

const stages = stagesFromEnv();
const scenarioSeconds = stagesSeconds(stages) + 5;

export const options: Options = {
  scenarios: Object.fromEntries(
    strategies.map((strategy, i): [string, Scenario] => [
      strategy,
      {
        executor: 'ramping-vus',
        startVUs: 0,
        stages,
        gracefulRampDown: '5s',
        startTime: `${i * scenarioSeconds}s`,
        env: { STRATEGY: strategy },
        tags: { strategy },
      },
    ]),
  ),
  thresholds: thresholds(strategies.map((s) => `{strategy:${s}}`)),
};

export default function counter(): void {
  const strategy = __ENV.STRATEGY ?? 'atomic';
  const res = http.post(
    `${BASE_URL}/v1/experiments/counter?strategy=${strategy}`,
    null,
    jsonParams({}, { name: 'counter' }),
  );
  check(res, {
    'status is 200': (r) => r.status === 200,
    'returns the count': (r) => r.status === 200 && typeof r.json('value') === 'number',
  });
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summaryOutputs('lock-counter', data);
}
