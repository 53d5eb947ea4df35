// The business-invariant gauges against a real Postgres: 0 on a consistent catalog, the violation once the data
// breaks the invariant the way a bypassed constraint or a stopped sweeper would.
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { Registry } from 'prom-client';
import { holdExpiryLagSeconds, invariantsTask, oversoldSeats } from '../src/reservations/invariants.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ concerts: 1, timeslotsPerConcert: 2, seatsPerTimeslot: 3 });
});
afterAll(async () => {
  await database?.drop();
});

const seatsOf = async (timeslotId: number) =>
  (await database.db('seats').where({ timeslot_id: timeslotId }).orderBy('number').select('id')).map((r) =>
    Number(r.id),
  );
const reserve = (seatId: number, timeslotId: number, status: string) =>
  database.db('reservations').insert({
    seat_id: seatId,
    timeslot_id: timeslotId,
    user_id: 1,
    status,
    expires_at: database.db.raw(`now() + interval '5 minutes'`),
  });

test('oversold: live reservations beyond a timeslot seats, and only those', async () => {
  const [first, second, third] = await seatsOf(1);
  const [otherSeat] = await seatsOf(2);
  expect(await oversoldSeats(database.db)).toBe(0);
  await reserve(first!, 1, 'HELD');
  await reserve(second!, 1, 'CONFIRMED');
  await reserve(third!, 1, 'HELD');
  await reserve(first!, 1, 'CANCELLED'); // not live: does not count
  expect(await oversoldSeats(database.db)).toBe(0); // 3 live, 3 seats: full, not oversold
  // A fourth live reservation for timeslot 1 (on a seat of timeslot 2: the data is inconsistent).
  await reserve(otherSeat!, 1, 'HELD');
  expect(await oversoldSeats(database.db)).toBe(1);
});

test('hold-expiry lag: how long ago the oldest still-HELD hold expired', async () => {
  const [seat, later] = await seatsOf(2);
  expect(await holdExpiryLagSeconds(database.db)).toBe(0);
  // A hold still running is not overdue.
  await database
    .db('seats')
    .where({ id: later })
    .update({
      status: 'HELD',
      hold_expires_at: database.db.raw(`now() + interval '1 minute'`),
    });
  expect(await holdExpiryLagSeconds(database.db)).toBe(0);
  await database
    .db('seats')
    .where({ id: seat })
    .update({
      status: 'HELD',
      hold_expires_at: database.db.raw(`now() - interval '90 seconds'`),
    });
  const lag = await holdExpiryLagSeconds(database.db);
  expect(lag).toBeGreaterThanOrEqual(90);
  expect(lag).toBeLessThan(120);
});

test('the sweeper task sets the gauges; a scrape only reads them', async () => {
  const registry = new Registry();
  const task = invariantsTask(database.db, registry);
  const value = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values[0]?.value;
  // Not read yet: no sample to alert on.
  expect(await value('booking_oversold_seats')).toBeNaN();
  expect(await task.run(500)).toBe(0);
  expect(await value('booking_oversold_seats')).toBe(await oversoldSeats(database.db));
  expect(await value('booking_hold_expiry_lag_seconds')).toBeGreaterThan(0);
});
