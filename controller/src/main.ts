import { startController } from './compose.js';
import { ConfigError, loadControllerConfig } from './config.js';
import { createLogger } from '@concert-booking/lib';

/** Composition root: config from the environment -> kube client, webhook server, leader election, reconcile loop. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadControllerConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.LOG_LEVEL, { component: 'alertscaler' });
  const controller = await startController(config, logger);
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    controller.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

void main();
