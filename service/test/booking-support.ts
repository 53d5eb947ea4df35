import http from 'node:http';
import type { Knex } from 'knex';
import { waitFor } from '@concert-booking/devkit/wait';
import { bearer } from '@concert-booking/devkit/identity';
import { TOPUP_SCOPE } from '@concert-booking/lib';
import { startTestService, type TestService } from './support/service.js';

export interface Reply {
  status: number;
  type: string;
  headers: http.IncomingHttpHeaders;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON of many shapes
}

/** A small HTTP client over one keep-alive agent, able to hold many requests in flight at once. */
export function client(baseUrl: string, maxSockets = 64) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const send = (
    method: string,
    path: string,
    options: { body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ) =>
    new Promise<Reply>((resolve, reject) => {
      const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
      const request = http.request(
        `${baseUrl}${path}`,
        {
          method,
          agent,
          headers: {
            ...(payload !== undefined
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
              : {}),
            ...options.headers,
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const type = String(response.headers['content-type'] ?? '');
            resolve({
              status: response.statusCode!,
              type,
              headers: response.headers,
              body: type.includes('json') && text ? JSON.parse(text) : text,
            });
          });
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  return { send, close: () => agent.destroy() };
}

export type Client = ReturnType<typeof client>;

/** The Authorization header of each queue token's user, so that `withToken` sends both, as a client would. */
const credentials = new Map<string, string>();

/** The headers of a request made with a queue token: the token and its user's bearer JWT. */
export const withToken = (token: string, more: Record<string, string> = {}) => ({
  'Queue-Token': token,
  Authorization: credentials.get(token) ?? '',
  ...more,
});

/** `userId` joins the waiting room (POST /v1/queue/tokens with their JWT); `withToken` then sends both. */
export async function joinQueue(api: Client, userId: number): Promise<Reply> {
  const auth = await bearer(userId);
  const issued = await api.send('POST', '/v1/queue/tokens', { headers: auth });
  if (issued.status === 201 || issued.status === 200) credentials.set(issued.body.token, auth.Authorization);
  return issued;
}

/** A token for `userId` that the waiting room has admitted (the test service admits every few ms). */
export async function activeToken(api: Client, userId: number): Promise<string> {
  const issued = await joinQueue(api, userId);
  if (issued.status !== 201 && issued.status !== 200)
    throw new Error(`token: ${issued.status} ${JSON.stringify(issued.body)}`);
  const token = issued.body.token as string;
  // Poll gently: a thousand clients polling flat out would starve the admission timer itself.
  for (let attempt = 0; attempt < 200; attempt++) {
    if (issued.body.status?.state === 'ACTIVE') return token;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const status = await api.send('GET', '/v1/queue/tokens/current', { headers: withToken(token) });
    if (status.body.state === 'ACTIVE') return token;
  }
  throw new Error('token never became active');
}

/** `userId`'s wallet topped up by `amount` (a token with the top-up scope). */
export async function topUp(api: Client, userId: number, amount: number, key?: string): Promise<Reply> {
  return api.send('POST', `/v1/users/${userId}/balance/charges`, {
    headers: { ...(await bearer(userId, [TOPUP_SCOPE])), ...(key ? { 'Idempotency-Key': key } : {}) },
    body: { amount },
  });
}

/** The test service, once its Redis connection is up (the waiting room has no fallback). */
export async function startBookingService(env: Record<string, string | undefined>): Promise<TestService> {
  const running = await startTestService(env);
  await waitFor(async () => (await fetch(`${running.url}/readyz`)).ok, 10_000, 'service ready');
  return running;
}

/** Service settings for tests: fast admission, a Redis database of the test's own. */
export const bookingEnv = (
  databaseUrl: string,
  redisUrl: string | undefined,
  extra: Record<string, string> = {},
) => ({
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  MIGRATE_ON_START: 'false',
  QUEUE_ADMIT_INTERVAL_MS: '10',
  QUEUE_ADMIT_PER_INTERVAL: '100000',
  QUEUE_MAX_ACTIVE: '100000',
  DB_POOL_MAX: '20',
  // The test's clients share the service's event loop: under a thousand requests in flight a
  // Redis reply can wait past the production 250 ms, which would turn into 503s here.
  REDIS_COMMAND_TIMEOUT_MS: '5000',
  // One address sends every test request, and tests retry one user's request a hundred times at once: the
  // budgets are not what these tests measure (service/test/identity.test.ts measures them).
  RATE_LIMIT_IP_PER_MINUTE: '10000000',
  RATE_LIMIT_USER_PER_MINUTE: '1000000',
  ...extra,
});

/** A Redis URL on database `index` of the shared server, emptied first. */
export async function privateRedisDb(sharedUrl: string, index: number): Promise<string> {
  const url = Object.assign(new URL(sharedUrl), { pathname: `/${index}` }).toString();
  const { Redis } = await import('ioredis');
  const redis = new Redis(url);
  await redis.flushdb();
  redis.disconnect();
  return url;
}

/** The booking invariants, checked in the database. Returns the rows that break one (none when all hold). */
export async function invariantViolations(db: Knex) {
  const doubleLive = await db.raw(
    `select seat_id from reservations where status in ('HELD', 'CONFIRMED') group by seat_id having count(*) > 1`,
  );
  const ledgerMismatch = await db.raw(
    `select w.user_id from wallets w left join wallet_ledger l on l.user_id = w.user_id
     group by w.user_id, w.balance having w.balance <> coalesce(sum(l.amount), 0)`,
  );
  const soldWithoutOnePayment = await db.raw(
    `select s.id from seats s
     left join reservations r on r.seat_id = s.id and r.status = 'CONFIRMED'
     left join payments p on p.reservation_id = r.id
     where s.status = 'SOLD' group by s.id having count(p.id) <> 1`,
  );
  const confirmedOnUnsold = await db.raw(
    `select r.id from reservations r join seats s on s.id = r.seat_id where r.status = 'CONFIRMED' and s.status <> 'SOLD'`,
  );
  const heldSeatWithoutLiveHold = await db.raw(
    `select s.id from seats s where s.status = 'HELD'
     and not exists (select 1 from reservations r where r.seat_id = s.id and r.status = 'HELD')`,
  );
  const negative = await db.raw(`select user_id from wallets where balance < 0`);
  return {
    doubleLive: doubleLive.rows,
    ledgerMismatch: ledgerMismatch.rows,
    soldWithoutOnePayment: soldWithoutOnePayment.rows,
    confirmedOnUnsold: confirmedOnUnsold.rows,
    heldSeatWithoutLiveHold: heldSeatWithoutLiveHold.rows,
    negative: negative.rows,
  };
}

export const NO_VIOLATIONS = {
  doubleLive: [],
  ledgerMismatch: [],
  soldWithoutOnePayment: [],
  confirmedOnUnsold: [],
  heldSeatWithoutLiveHold: [],
  negative: [],
};
