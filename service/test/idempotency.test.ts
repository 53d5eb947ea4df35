// runIdempotent against real Postgres: what is stored, replayed, refused and released, and the take-over of a
// stale key by exactly one of two contenders (made deterministic with a row lock, not with timing).
import type { Knex } from 'knex';
import { ProblemError } from '../src/http/problem.js';
import {
  purgeExpiredKeys,
  requestHash,
  runIdempotent,
  type MarkDone,
  type StoredResponse,
} from '../src/payments/idempotency.js';
import { createTestDatabase, sessionsWaitingOnLocks, type TestDatabase } from './support/database.js';
import { waitFor } from '@concert-booking/devkit/wait';

let database: TestDatabase;
let db: Knex;

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
});
afterAll(async () => database?.drop());

let keyCount = 0;
/** A request under a key no other test uses; `runs` counts how often its effect ran. */
function request(body: unknown = { amount: 5 }) {
  const key = `key-${++keyCount}`;
  const runs = { count: 0 };
  const call = (options: { body?: unknown; fail?: Error; authorize?: () => Promise<unknown> } = {}) =>
    runIdempotent(
      db,
      { scope: 'test', key, request: options.body ?? body, ttlSeconds: 60, authorize: options.authorize },
      (markDone: MarkDone) =>
        db.transaction(async (trx) => {
          runs.count++;
          if (options.fail) throw options.fail;
          const response: StoredResponse = { status: 201, body: { run: runs.count } };
          await markDone(trx, response);
          return response;
        }),
    );
  const row = () => db('idempotency_keys').where({ scope: 'test', key }).first();
  return { key, runs, call, row };
}

const problem = (status: number) => new ProblemError(status, 'refused', 'Refused', 'no');

describe('runIdempotent', () => {
  test('the first call runs and stores its response; a retry replays it without running', async () => {
    const { runs, call, row } = request();
    expect(await call()).toEqual({ status: 201, body: { run: 1 }, replayed: false });
    expect(await row()).toMatchObject({ state: 'DONE', response_status: 201, response_body: { run: 1 } });
    expect(await call()).toEqual({ status: 201, body: { run: 1 }, replayed: true });
    expect(runs.count).toBe(1);
  });

  test('the same key with another request is 422 and runs nothing', async () => {
    const { runs, call } = request();
    await call();
    await expect(call({ body: { amount: 6 } })).rejects.toMatchObject({
      status: 422,
      slug: 'idempotency-key-reused',
      title: 'Unprocessable Content',
      detail: 'this Idempotency-Key was used for a different request',
    });
    expect(runs.count).toBe(1);
  });

  test('without a key every call runs and nothing is stored', async () => {
    const runs = { count: 0 };
    const once = () =>
      runIdempotent(db, { scope: 'test', key: undefined, request: {}, ttlSeconds: 60 }, async (markDone) => {
        runs.count++;
        await db.transaction((trx) => markDone(trx, { status: 201, body: {} }));
        return { status: 201, body: { run: runs.count } };
      });
    expect(await once()).toEqual({ status: 201, body: { run: 1 }, replayed: false });
    expect(await once()).toEqual({ status: 201, body: { run: 2 }, replayed: false });
    expect(await db('idempotency_keys').where({ scope: 'test', key: '' }).first()).toBeUndefined();
  });

  test('a client error is stored and replayed like a success', async () => {
    const { runs, call, row } = request();
    await expect(call({ fail: problem(409) })).rejects.toMatchObject({ status: 409 });
    const body = { type: '/problems/refused', title: 'Refused', status: 409, detail: 'no' };
    expect(await row()).toMatchObject({ state: 'DONE', response_status: 409, response_body: body });
    expect(await call()).toEqual({ status: 409, replayed: true, body });
    expect(runs.count).toBe(1);
  });

  test('a server error releases the key (that key only): the retry runs again', async () => {
    const other = request();
    await other.call();
    const { call, row } = request();
    await expect(call({ fail: new Error('database went away') })).rejects.toThrow('database went away');
    expect(await row()).toBeUndefined();
    await expect(call({ fail: problem(500) })).rejects.toMatchObject({ status: 500 });
    expect(await row()).toBeUndefined();
    expect(await other.row()).toMatchObject({ state: 'DONE' });
    expect(await call()).toEqual({ status: 201, body: { run: 3 }, replayed: false });
  });

  test('a refused authorization is not stored: the same key works once allowed', async () => {
    const { runs, call, row } = request();
    await expect(call({ authorize: async () => Promise.reject(problem(403)) })).rejects.toMatchObject({
      status: 403,
    });
    expect(await row()).toBeUndefined();
    expect(runs.count).toBe(0);
    expect(await call({ authorize: async () => undefined })).toMatchObject({ status: 201, replayed: false });
  });

  test('a replay is not authorized again (the token may be used up by then)', async () => {
    const { call } = request();
    await call();
    expect(await call({ authorize: async () => Promise.reject(problem(403)) })).toMatchObject({
      replayed: true,
    });
  });

  test('a retry while the first still runs is 409 in-progress', async () => {
    const { key, row, runs } = request();
    await db('idempotency_keys').insert({
      scope: 'test',
      key,
      request_hash: requestHash({ amount: 5 }),
      state: 'IN_PROGRESS',
      locked_at: new Date(),
      expires_at: new Date(Date.now() + 60_000),
    });
    expect(await request().call()).toMatchObject({ replayed: false }); // another key is not held up
    const retry = runIdempotent(
      db,
      { scope: 'test', key, request: { amount: 5 }, ttlSeconds: 60 },
      async () => {
        runs.count++;
        return { status: 201, body: {} };
      },
    );
    await expect(retry).rejects.toMatchObject({
      status: 409,
      slug: 'idempotency-request-in-progress',
      title: 'Conflict',
      detail: 'a request with this Idempotency-Key is still running: retry shortly',
    });
    expect(runs.count).toBe(0);
    expect(await row()).toMatchObject({ state: 'IN_PROGRESS' });
  });

  test('an expired key is taken over: the request runs again, with a fresh expiry', async () => {
    const { key, call, row } = request();
    await call();
    await db('idempotency_keys')
      .where({ scope: 'test', key })
      .update({ expires_at: new Date(Date.now() - 1) });
    expect(await call()).toEqual({ status: 201, body: { run: 2 }, replayed: false });
    const stored = (await row()) as { expires_at: Date; locked_at: Date };
    expect(stored.expires_at.getTime() - stored.locked_at.getTime()).toBe(60_000);
  });

  test('a stale IN_PROGRESS key is taken over by exactly one of two contenders', async () => {
    const { key, runs, call, row } = request();
    const staleLock = new Date(Date.now() - 120_000);
    await db('idempotency_keys').insert({
      scope: 'test',
      key,
      request_hash: requestHash({ amount: 5 }),
      state: 'IN_PROGRESS',
      locked_at: staleLock,
      expires_at: new Date(Date.now() + 60_000),
    });
    // Both contenders read the stale row, then queue behind this lock to update it.
    const locker = await db.transaction();
    await locker('idempotency_keys').where({ scope: 'test', key }).forUpdate().first();
    const contenders = [call(), call()].map((p) =>
      p.then(
        (r) => ({ ok: r }),
        (error: unknown) => ({ error }),
      ),
    );
    await waitFor(
      async () => (await sessionsWaitingOnLocks(db)) === 2,
      20_000,
      'both contenders to wait on the row lock',
    );
    await locker.rollback();
    const results = await Promise.all(contenders);
    expect(runs.count).toBe(1);
    const winners = results.filter((r) => 'ok' in r && r.ok.replayed === false);
    expect(winners).toHaveLength(1);
    for (const loser of results.filter((r) => !winners.includes(r))) {
      // The loser finds the winner's lock: still running (409) or, if it already finished, its replay.
      expect(
        'error' in loser
          ? (loser.error as ProblemError).slug
          : (loser.ok as { replayed: boolean }).replayed && 'replayed',
      ).toMatch(/^(idempotency-request-in-progress|replayed)$/);
    }
    expect(((await row()) as { locked_at: Date }).locked_at.getTime()).toBeGreaterThan(staleLock.getTime());
  });

  /**
   * While `fn` runs, Postgres drops every `operation` on the row of `key` (a BEFORE trigger returning NULL), and
   * counts the attempts: a contender that keeps losing the row, made deterministic.
   */
  async function whileRowRefuses<T>(operation: 'INSERT' | 'UPDATE', key: string, fn: () => Promise<T>) {
    await db.raw(`create table if not exists refused_attempts (key text not null)`);
    await db.raw(
      `create or replace function refuse_row() returns trigger language plpgsql as $$
       begin
         if new.key = '${key}' then insert into refused_attempts values (new.key); return null; end if;
         return new;
       end $$`,
    );
    await db.raw(
      `create trigger refuse_row before ${operation} on idempotency_keys for each row execute function refuse_row()`,
    );
    try {
      const outcome = await fn().then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      const attempts = await db('refused_attempts').where({ key }).count<{ count: string }[]>('* as count');
      return { outcome, attempts: Number(attempts[0]!.count) };
    } finally {
      await db.raw('drop trigger refuse_row on idempotency_keys');
    }
  }

  const contended = {
    status: 409,
    slug: 'idempotency-request-in-progress',
    title: 'Conflict',
    detail: 'the Idempotency-Key is contended: retry',
  };

  test('a key whose row vanishes after every insert (deleted in between) is 409 after three attempts', async () => {
    const { key, runs, call } = request();
    const { outcome, attempts } = await whileRowRefuses('INSERT', key, () => call());
    expect(outcome).toEqual({ error: expect.objectContaining(contended) });
    expect(attempts).toBe(3);
    expect(runs.count).toBe(0);
  });

  test('a stale key whose take-over is lost every time is 409 after three attempts, and runs nothing', async () => {
    const { key, runs, call, row } = request();
    const staleLock = new Date(Date.now() - 120_000);
    await db('idempotency_keys').insert({
      scope: 'test',
      key,
      request_hash: requestHash({ amount: 5 }),
      state: 'IN_PROGRESS',
      locked_at: staleLock,
      expires_at: new Date(Date.now() + 60_000),
    });
    const { outcome, attempts } = await whileRowRefuses('UPDATE', key, () => call());
    expect(outcome).toEqual({ error: expect.objectContaining(contended) });
    expect(attempts).toBe(3);
    expect(runs.count).toBe(0);
    expect(await row()).toMatchObject({ state: 'IN_PROGRESS', locked_at: staleLock });
  });

  test('purgeExpiredKeys deletes expired keys only, a batch at a time', async () => {
    const expired = Array.from({ length: 3 }, () => request());
    const live = request();
    for (const key of [...expired, live]) await key.call();
    await db('idempotency_keys')
      .whereIn(
        'key',
        expired.map((e) => e.key),
      )
      .update({ expires_at: new Date(Date.now() - 1000) });
    expect(await purgeExpiredKeys(db, 2)).toBe(2);
    expect(await purgeExpiredKeys(db, 2)).toBe(1);
    expect(await purgeExpiredKeys(db, 2)).toBe(0);
    for (const key of expired) expect(await key.row()).toBeUndefined();
    expect(await live.row()).toMatchObject({ state: 'DONE' });
  });
});
