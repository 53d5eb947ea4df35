import http from 'node:http';
import { Gauge, Registry } from 'prom-client';
import {
  bearerMatches,
  BodyTooLarge,
  readBody,
  sendJson,
  sendProblem,
  type Logger,
} from '@concert-booking/lib';
import { z } from 'zod';
import { SERVICE_METRICS } from '../metrics.js';
import { saleScheduleSchema, type SaleSchedule } from '../queue/sale.js';
import { ClusterMetrics } from './metrics.js';
import type { WorkerPool } from './worker-pool.js';

const MAX_WORKERS = 64;
const BODY_LIMIT_BYTES = 1024;
/** A sale's body lists up to 1000 timeslots. */
const SALE_BODY_LIMIT_BYTES = 16 * 1024;

class BadRequest extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
  ) {
    super(detail);
  }
}

async function readJson(req: http.IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  let raw: string;
  try {
    raw = await readBody(req, limit);
  } catch (error) {
    if (!(error instanceof BodyTooLarge)) throw error;
    throw new BadRequest(413, 'Content Too Large', `the body limit is ${limit} bytes`);
  }
  try {
    const value = JSON.parse(raw) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new BadRequest(400, 'Bad Request', 'the body must be a JSON object');
}

/** The primary's run-time settings, applied to every worker (and to workers forked later). */
export interface ClusterSettings {
  seatMapCache: boolean;
}

/**
 * The primary's admin port: `GET /workers`, `PUT /workers {"count": N}`, `GET|PUT /seat-map-cache
 * {"enabled": true}`, `PUT /queue/sale` (the OnSale's schedule, into the workers' shared queue store; needs
 * `scheduleSale`) (writes need the bearer token), and `/metrics` summed over every worker, so Prometheus
 * sees the pool as one target.
 */
export function createAdminServer(
  pool: WorkerPool,
  settings: ClusterSettings,
  token: string | undefined,
  logger: Logger,
  scheduleSale?: (sale: SaleSchedule) => Promise<void>,
): http.Server {
  const workerMetrics = new ClusterMetrics();
  const own = new Registry();
  new Gauge({
    ...SERVICE_METRICS.workers,
    registers: [own],
    collect() {
      const { desired, running, listening } = pool.status();
      this.set({ state: 'desired' }, desired);
      this.set({ state: 'running' }, running);
      this.set({ state: 'listening' }, listening);
    },
  });

  const writes: Record<string, (body: Record<string, unknown>) => unknown> = {
    '/queue/sale': async (body) => {
      if (!scheduleSale)
        throw new BadRequest(409, 'Conflict', 'a sale needs the shared waiting room: set REDIS_URL');
      const sale = saleScheduleSchema.safeParse(body);
      if (!sale.success) throw new BadRequest(400, 'Bad Request', z.prettifyError(sale.error));
      try {
        await scheduleSale(sale.data);
      } catch (error) {
        throw new BadRequest(
          503,
          'Service Unavailable',
          `the waiting room is unavailable: ${(error as Error).message}`,
        );
      }
      logger.info({ opensAt: body.opensAt }, 'sale scheduled through the admin endpoint');
      return body;
    },
    '/workers': ({ count }) => {
      if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > MAX_WORKERS) {
        throw new BadRequest(400, 'Bad Request', `count must be an integer from 1 to ${MAX_WORKERS}`);
      }
      logger.info({ count }, 'worker count changed through the admin endpoint');
      return pool.resize(count as number);
    },
    '/seat-map-cache': ({ enabled }) => {
      if (typeof enabled !== 'boolean') throw new BadRequest(400, 'Bad Request', 'enabled must be a boolean');
      settings.seatMapCache = enabled;
      pool.broadcast({ type: 'settings', seatMapCache: enabled }, { SEATMAP_CACHE_ENABLED: String(enabled) });
      logger.info({ enabled }, 'seat-map cache switched through the admin endpoint');
      return { enabled };
    },
  };
  const reads: Record<string, () => unknown> = {
    '/workers': () => pool.status(),
    '/seat-map-cache': () => ({ enabled: settings.seatMapCache }),
  };

  return http.createServer(async (req, res) => {
    try {
      const path = req.url ?? '/';
      if (path === '/metrics' && req.method === 'GET') {
        const workers = await workerMetrics.text();
        res.writeHead(200, { 'content-type': own.contentType });
        return res.end(`${workers}\n${await own.metrics()}`);
      }
      const read = reads[path];
      const write = writes[path];
      if (req.method === 'GET' && read) return sendJson(res, 200, read());
      if (req.method === 'PUT' && write) {
        if (!token)
          return sendProblem(res, 403, 'Forbidden', 'admin endpoints are off: set ADMIN_TOKEN_FILE');
        if (!bearerMatches(req.headers.authorization, token)) {
          return sendProblem(res, 401, 'Unauthorized', 'a valid bearer token is required');
        }
        const limit = path === '/queue/sale' ? SALE_BODY_LIMIT_BYTES : BODY_LIMIT_BYTES;
        return sendJson(res, 200, await write(await readJson(req, limit)));
      }
      sendProblem(res, 404, 'Not Found', `no route for ${req.method} ${path}`);
    } catch (error) {
      if (error instanceof BadRequest) return sendProblem(res, error.status, error.title, error.message);
      logger.error({ err: error }, 'admin request failed');
      if (!res.headersSent) sendProblem(res, 500, 'Internal Server Error', 'the error was logged');
    }
  });
}
