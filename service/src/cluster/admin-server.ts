import http from 'node:http';
import { Gauge, Registry } from 'prom-client';
import { bearerMatches } from '../http/auth.js';
import type { Logger } from '../logger.js';
import { ClusterMetrics } from './metrics.js';
import type { WorkerPool } from './worker-pool.js';

const MAX_WORKERS = 64;

function send(res: http.ServerResponse, status: number, body: unknown, type = 'application/json') {
  res.writeHead(status, { 'content-type': type });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function problem(res: http.ServerResponse, status: number, title: string, detail: string) {
  send(
    res,
    status,
    { type: `/problems/${title.toLowerCase().replace(/ /g, '-')}`, title, status, detail },
    'application/problem+json',
  );
}

/**
 * The primary's admin port: `GET /workers`, `PUT /workers {"count": N}` (bearer token), and
 * `/metrics` summed over every worker, so Prometheus sees the pool as one target.
 */
export function createAdminServer(pool: WorkerPool, token: string | undefined, logger: Logger): http.Server {
  const workerMetrics = new ClusterMetrics();
  const own = new Registry();
  new Gauge({
    name: 'booking_workers',
    help: 'Worker processes of the local cluster mode',
    labelNames: ['state'] as const,
    registers: [own],
    collect() {
      const { desired, running, listening } = pool.status();
      this.set({ state: 'desired' }, desired);
      this.set({ state: 'running' }, running);
      this.set({ state: 'listening' }, listening);
    },
  });

  return http.createServer(async (req, res) => {
    try {
      if (req.url === '/metrics' && req.method === 'GET') {
        const workers = await workerMetrics.text();
        send(res, 200, `${workers}\n${await own.metrics()}`, own.contentType);
      } else if (req.url === '/workers' && req.method === 'GET') {
        send(res, 200, pool.status());
      } else if (req.url === '/workers' && req.method === 'PUT') {
        if (!token) return problem(res, 403, 'Forbidden', 'admin endpoints are off: set ADMIN_TOKEN_FILE');
        if (!bearerMatches(req.headers.authorization, token)) {
          return problem(res, 401, 'Unauthorized', 'a valid bearer token is required');
        }
        let raw = '';
        for await (const chunk of req) {
          raw += chunk;
          if (raw.length > 1024)
            return problem(res, 413, 'Content Too Large', 'the body limit is 1024 bytes');
        }
        let count: unknown;
        try {
          count = (JSON.parse(raw) as { count?: unknown }).count;
        } catch {
          return problem(res, 400, 'Bad Request', 'malformed JSON');
        }
        if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > MAX_WORKERS) {
          return problem(res, 400, 'Bad Request', `count must be an integer from 1 to ${MAX_WORKERS}`);
        }
        logger.info({ count }, 'worker count changed through the admin endpoint');
        send(res, 200, pool.resize(count as number));
      } else {
        problem(res, 404, 'Not Found', `no route for ${req.method} ${req.url}`);
      }
    } catch (error) {
      logger.error({ err: error }, 'admin request failed');
      if (!res.headersSent) problem(res, 500, 'Internal Server Error', 'the error was logged');
    }
  });
}
