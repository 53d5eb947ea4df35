import {
  saleScheduleSchema,
  saleWindow,
  shuffleFraction,
  warmUpDue,
  type SaleSchedule,
} from '../src/queue/sale.js';

const sale: SaleSchedule = { opensAt: 10_000, preQueueStart: 4_000, timeslotIds: [1] };

test.each([
  [undefined, 0, 'none'],
  [sale, 3_999, 'before'],
  [sale, 4_000, 'pre-queue'],
  [sale, 9_999, 'pre-queue'],
  [sale, 10_000, 'open'],
] as const)('saleWindow(%o, %d) = %s', (schedule, now, window) => {
  expect(saleWindow(schedule, now)).toBe(window);
});

test.each([
  [undefined, 9_000, false],
  [sale, 6_999, false],
  [sale, 7_000, true],
  [sale, 9_999, true],
  [sale, 10_000, false],
] as const)('warmUpDue(%o, %d, lead 3 s) = %s', (schedule, now, due) => {
  expect(warmUpDue(schedule, now, 3_000)).toBe(due);
});

test('the schedule body: opensAt less the pre-queue, refusing what is not a sale', () => {
  expect(
    saleScheduleSchema.parse({ opensAt: '2030-01-01T00:00:00Z', preQueueSeconds: 60, timeslotIds: [3] }),
  ).toEqual({ opensAt: 1893456000000, preQueueStart: 1893455940000, timeslotIds: [3] });
  for (const bad of [
    { opensAt: 'soon', preQueueSeconds: 60, timeslotIds: [3] },
    { opensAt: '2030-01-01T00:00:00Z', preQueueSeconds: 1.5, timeslotIds: [3] },
    { opensAt: '2030-01-01T00:00:00Z', preQueueSeconds: 60, timeslotIds: [0] },
  ])
    expect(saleScheduleSchema.safeParse(bad).success).toBe(false);
});

test('shuffle fractions are strictly inside (0, 1) and not repeated', () => {
  const draws = Array.from({ length: 10_000 }, shuffleFraction);
  expect(draws.every((f) => f > 0 && f < 1)).toBe(true);
  expect(new Set(draws).size).toBe(draws.length);
});
