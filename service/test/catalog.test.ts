import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startTestService, type TestService } from './support/service.js';

let database: TestDatabase;
let running: TestService;

beforeAll(async () => {
  database = await createTestDatabase({ concerts: 3, timeslotsPerConcert: 2, seatsPerTimeslot: 50 });
  running = await startTestService({ DATABASE_URL: database.url, MIGRATE_ON_START: 'false' });
});

afterAll(async () => {
  await running?.close();
  await database?.drop();
});

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${running.url}${path}`, { headers });

describe('catalog', () => {
  test('lists concerts a page at a time with a cursor', async () => {
    const first = await get('/v1/concerts?limit=2');
    expect(first.status).toBe(200);
    const page = (await first.json()) as { items: { id: number; name: string }[]; nextCursor: number | null };
    expect(page.items.map((c) => c.name)).toEqual(['Concert 1', 'Concert 2']);
    expect(page.nextCursor).toBe(page.items[1]!.id);
    const second = (await (await get(`/v1/concerts?limit=2&after=${page.nextCursor}`)).json()) as typeof page;
    expect(second.items.map((c) => c.name)).toEqual(['Concert 3']);
    expect(second.nextCursor).toBeNull();
  });

  test('lists timeslots of a concert with available seat counts', async () => {
    const { items: concerts } = (await (await get('/v1/concerts')).json()) as { items: { id: number }[] };
    await database
      .db('seats')
      .update({ status: 'SOLD' })
      .whereIn('id', database.db('seats').select('id').where('number', '<=', 5));
    const response = await get(`/v1/concerts/${concerts[0]!.id}/timeslots`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { items: { totalSeats: number; availableSeats: number }[] };
    expect(body.items).toHaveLength(2);
    for (const slot of body.items) expect(slot).toMatchObject({ totalSeats: 50, availableSeats: 45 });
  });

  test('serves the seat map of a timeslot', async () => {
    const response = await get('/v1/timeslots/1/seats');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await response.json()) as {
      timeslotId: number;
      seats: { number: number; grade: string }[];
    };
    expect(body.timeslotId).toBe(1);
    expect(body.seats.map((s) => s.number)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(body.seats[0]!.grade).toBe('VIP');
    expect(body.seats[49]!.grade).toBe('A');
  });

  test.each([
    ['/v1/timeslots/abc/seats', 400],
    ['/v1/timeslots/0/seats', 400],
    ['/v1/timeslots/-1/seats', 400],
    ['/v1/timeslots/99999999999999999999/seats', 400],
    ['/v1/timeslots/999999/seats', 404],
    ['/v1/concerts/x/timeslots', 400],
    ['/v1/concerts/999999/timeslots', 404],
    ['/v1/concerts?limit=0', 400],
    ['/v1/concerts?limit=101', 400],
    ['/v1/concerts?limit=ten', 400],
    ['/v1/concerts?after=-3', 400],
    ['/v1/nothing-here', 404],
  ])('GET %s answers %i with problem+json', async (path, status) => {
    const response = await get(path);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const problem = (await response.json()) as { status: number; title: string; type: string };
    expect(problem.status).toBe(status);
    expect(problem.type).toMatch(/^\/problems\//);
  });

  test('answers 304 to a matching If-None-Match', async () => {
    const first = await get('/v1/timeslots/2/seats');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    const second = await get('/v1/timeslots/2/seats', { 'If-None-Match': etag });
    expect(second.status).toBe(304);
    const other = await get('/v1/timeslots/2/seats', { 'If-None-Match': '"something-else"' });
    expect(other.status).toBe(200);
  });

  test('serves an OpenAPI 3.1 document that matches the validation', async () => {
    const doc = (await (await get('/openapi.json')).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<string, { operationId: string; parameters: { name: string; schema: { pattern?: string } }[] }>
      >;
    };
    expect(doc.openapi).toBe('3.1.0');
    const seatMap = doc.paths['/v1/timeslots/{timeslotId}/seats']!.get!;
    expect(seatMap.operationId).toBe('findConcertSeats');
    const param = seatMap.parameters.find((p) => p.name === 'timeslotId')!;
    const pattern = new RegExp(param.schema.pattern!);
    expect(pattern.test('42')).toBe(true);
    expect(pattern.test('abc')).toBe(false);
  });
});
