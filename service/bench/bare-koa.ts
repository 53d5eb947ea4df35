/**
 * The ceiling of the seat-map benchmark: a bare Koa handler that answers every request with
 * the same seat-map bytes from memory. Reads them from SEAT_MAP_FILE, listens on PORT.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import Koa from 'koa';

const body = readFileSync(process.env.SEAT_MAP_FILE!);
const app = new Koa();
app.use((ctx) => {
  ctx.type = 'application/json';
  ctx.body = body;
});
http.createServer(app.callback()).listen(Number(process.env.PORT), '127.0.0.1');
