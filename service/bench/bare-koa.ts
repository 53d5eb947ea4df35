/**
 * The ceiling of the seat-map benchmark: a bare Koa handler that answers every request with
 * the same seat-map bytes from memory, gzipped when the request accepts gzip. Reads them from
 * SEAT_MAP_FILE and SEAT_MAP_GZIP_FILE, listens on PORT.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import Koa from 'koa';

const identity = readFileSync(process.env.SEAT_MAP_FILE!);
const gzip = readFileSync(process.env.SEAT_MAP_GZIP_FILE!);
const app = new Koa();
app.use((ctx) => {
  ctx.type = 'application/json';
  if (ctx.get('accept-encoding').includes('gzip')) {
    ctx.set('Content-Encoding', 'gzip');
    ctx.body = gzip;
  } else {
    ctx.body = identity;
  }
});
http.createServer(app.callback()).listen(Number(process.env.PORT), '127.0.0.1');
