/**
 * `k6/http`: request, get, post, put, patch, del and expectedStatuses. The runner sends the request
 * (and records http_reqs, http_req_duration and http_req_failed); this VU blocks until the answer is in.
 * Params: headers, tags, timeout, responseCallback (from expectedStatuses). Response: status (0 without an
 * answer), body, headers, url and json([selector]).
 */
import { parseDuration } from '../duration.js';
import { selectJson } from '../json-selector.js';
import type { HttpAnswer, HttpRequest } from '../protocol.js';
import { onlyKnownKeys, strict, UnsupportedK6Api } from '../unsupported.js';
import { currentTags, requestSync, vu } from '../vu-context.js';

type StatusRange = { min: number; max: number };
const EXPECTED = Symbol('expected statuses');
interface ExpectedStatuses {
  readonly [EXPECTED]: StatusRange[];
}
/** k6's default response callback: 2xx and 3xx are not failures. */
const DEFAULT_EXPECTED: StatusRange[] = [{ min: 200, max: 399 }];
/** k6's default request timeout. */
const DEFAULT_TIMEOUT_MS = 60_000;

interface Params {
  headers?: Record<string, string>;
  tags?: Record<string, string>;
  timeout?: string | number;
  responseCallback?: ExpectedStatuses;
}

export function expectedStatuses(...statuses: (number | StatusRange)[]): ExpectedStatuses {
  const ranges = statuses.map((status) =>
    typeof status === 'number' ? { min: status, max: status } : status,
  );
  for (const range of ranges) {
    if (!Number.isInteger(range.min) || !Number.isInteger(range.max))
      throw new Error(`expectedStatuses: ${JSON.stringify(range)} is not a status or a {min, max} range`);
  }
  return { [EXPECTED]: ranges };
}

function requestParams(params: Params | null | undefined): Params {
  if (params === null || params === undefined) return {};
  onlyKnownKeys(params, ['headers', 'tags', 'timeout', 'responseCallback'], 'http params');
  if (params.responseCallback !== undefined && !(EXPECTED in Object(params.responseCallback)))
    throw new UnsupportedK6Api('a responseCallback other than http.expectedStatuses(...)');
  return params;
}

function response(answer: HttpAnswer) {
  let parsed: { value: unknown } | undefined;
  return strict(
    {
      status: answer.status,
      body: answer.body,
      headers: answer.headers,
      url: answer.url,
      json(selector?: string): unknown {
        parsed ??= { value: JSON.parse(answer.body ?? '') };
        return selector === undefined ? parsed.value : selectJson(parsed.value, selector);
      },
    },
    'Response',
  );
}

export function request(method: string, url: string, body?: string | null, params?: Params | null) {
  if (vu.phase === 'init') throw new Error('Making http requests in the init context is not supported');
  if (typeof url !== 'string') throw new UnsupportedK6Api('a URL that is not a string (http.url`...`)');
  if (body !== undefined && body !== null && typeof body !== 'string')
    throw new UnsupportedK6Api('a request body that is not a string (k6 form-encodes objects)');
  const { headers = {}, tags = {}, timeout, responseCallback } = requestParams(params);
  const sent: HttpRequest = {
    method: method.toUpperCase(),
    url,
    body: body ?? null,
    headers,
    timeoutMs: timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(timeout, 'http params.timeout'),
    expected: responseCallback?.[EXPECTED] ?? DEFAULT_EXPECTED,
    tags: { ...currentTags(), name: url, ...tags },
  };
  return response(requestSync(sent));
}

export const get = (url: string, params?: Params | null) => request('GET', url, null, params);
export const post = (url: string, body?: string | null, params?: Params | null) =>
  request('POST', url, body, params);
export const put = (url: string, body?: string | null, params?: Params | null) =>
  request('PUT', url, body, params);
export const patch = (url: string, body?: string | null, params?: Params | null) =>
  request('PATCH', url, body, params);
export const del = (url: string, body?: string | null, params?: Params | null) =>
  request('DELETE', url, body, params);

export default strict({ request, get, post, put, patch, del, expectedStatuses }, 'http');
