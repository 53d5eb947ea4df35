/**
 * The ceiling of the seat-map benchmark: a bare Koa handler that answers each timeslot's seat-map
 * request with that timeslot's bytes from memory, gzipped when the request accepts gzip. Reads
 * them from SEAT_MAP_DIR (`<timeslot id>.json` and `<timeslot id>.json.gz`), listens on PORT.
 */
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Koa from 'koa';

const dir = process.env.SEAT_MAP_DIR!;
const bodies = new Map(readdirSync(dir).map((file) => [file, readFileSync(path.join(dir, file))]));
const app = new Koa();
app.use((ctx) => {
  const id = /^\/v1\/timeslots\/(\d+)\/seats$/.exec(ctx.path)?.[1];
  const gzip = ctx.get('accept-encoding').includes('gzip');
  const body = id && bodies.get(`${id}.json${gzip ? '.gz' : ''}`);
  if (!body) return;
  ctx.type = 'application/json';
  if (gzip) ctx.set('Content-Encoding', 'gzip');
  ctx.body = body;
});
http.createServer(app.callback()).listen(Number(process.env.PORT), '127.0.0.1');
