import type http from 'node:http';
import { loadConfig, type Config } from '../../src/config.js';
import { composeService, type Service } from '../../src/compose.js';
import { serviceLogger } from '../../src/logger.js';
import { boundPort, listen } from '../../src/server.js';
import { testIssuer } from '@concert-booking/devkit/identity';

export interface TestService {
  url: string;
  /** The admin port: /metrics and the diagnostics. */
  adminUrl: string;
  config: Config;
  service: Service;
  close(): Promise<void>;
}

/**
 * The real service, composed as main.ts composes it, listening on a free loopback port.
 * `env` is read exactly like the process environment (so config validation is exercised too); the service
 * trusts the test issuer (devkit/src/identity.ts) unless `env` says otherwise.
 */
export async function startTestService(env: Record<string, string | undefined>): Promise<TestService> {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    PORT: '0',
    QUEUE_TOKEN_SECRET: 'test-secret-test-secret-test-secret!',
    ...testIssuer().env,
    ...env,
  });
  const service = await composeService(config, serviceLogger(config.LOG_LEVEL));
  const server: http.Server = await listen(service.app, '127.0.0.1', 0);
  const admin: http.Server = await listen(service.adminApp, '127.0.0.1', 0);
  return {
    url: `http://127.0.0.1:${boundPort(server)}`,
    adminUrl: `http://127.0.0.1:${boundPort(admin)}`,
    config,
    service,
    async close() {
      for (const listening of [server, admin]) {
        listening.closeAllConnections();
        await new Promise((resolve) => listening.close(resolve));
      }
      await service.close();
    },
  };
}
