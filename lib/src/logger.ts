import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Structured JSON logs on stdout; one logger per process, passed down from main. `base` names the program.
 * `destination` replaces stdout (a test that asserts what is logged).
 */
export function createLogger(
  level: string,
  base: Record<string, unknown>,
  destination?: DestinationStream,
): Logger {
  return destination ? pino({ level, base }, destination) : pino({ level, base });
}
