import { z } from 'zod';

/** The part of an instant-query answer read here (https://prometheus.io/docs/prometheus/latest/querying/api/). */
const vectorAnswer = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('vector'),
    result: z.array(z.object({ value: z.tuple([z.number(), z.string()]) })),
  }),
});

/**
 * The value of an instant query that aggregates to one sample (`sum(...)`, `max(...)`): null when it has no
 * sample (or NaN). Throws when Prometheus does not answer in `timeoutMs` or answers an error.
 */
export async function queryScalar(baseUrl: string, query: string, timeoutMs: number): Promise<number | null> {
  const url = new URL('/api/v1/query', baseUrl);
  url.searchParams.set('query', query);
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`Prometheus answered ${response.status} to ${query}`);
  const [first] = vectorAnswer.parse(await response.json()).data.result;
  const value = first === undefined ? Number.NaN : Number(first.value[1]);
  return Number.isNaN(value) ? null : value;
}

/** A label matcher with its value quoted as a PromQL string, so no value can widen the query. */
export const labelEquals = (name: string, value: string): string => `${name}=${JSON.stringify(value)}`;
