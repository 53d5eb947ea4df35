import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import type { Logger } from '@concert-booking/lib';
import type { Lifecycle } from './health/routes.js';

export async function listen(
  app: Koa,
  host: string,
  port: number,
  maxRequestsPerSocket = 0,
): Promise<http.Server> {
  const server = http.createServer(app.callback());
  // Above typical load-balancer idle timeouts, so the proxy closes idle connections first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // A keep-alive connection stays with the replica that accepted it: capping its requests makes clients
  // reconnect now and then, so replicas added by a scale-up get their share of long-lived clients.
  server.maxRequestsPerSocket = maxRequestsPerSocket;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

export const boundPort = (server: http.Server) => (server.address() as AddressInfo).port;

/**
 * Graceful stop: readiness fails, no new connections, in-flight requests finish (keep-alive
 * clients are told to close), and whatever still runs at the deadline is cut. Resolves true
 * when everything finished in time.
 */
export async function drain(server: http.Server, lifecycle: Lifecycle, deadlineMs: number, logger: Logger) {
  lifecycle.draining = true;
  const closed = new Promise<boolean>((resolve) => server.close(() => resolve(true)));
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), deadlineMs);
  });
  const finished = await Promise.race([closed, deadline]);
  clearTimeout(timer);
  if (!finished) {
    logger.warn({ deadlineMs }, 'drain deadline reached, closing remaining connections');
    server.closeAllConnections();
  }
  return finished;
}
