import { pino, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Structured JSON logs on stdout; one logger per process, passed down from main. `base` names the program. */
export function createLogger(level: string, base: Record<string, unknown>): Logger {
  return pino({ level, base });
}
