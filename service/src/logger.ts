import { createLogger, type Logger } from '@concert-booking/lib';

/** The service's logger: every line names the program and the process (the workers of cluster mode share stdout). */
export function serviceLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return createLogger(level, { service: 'booking', pid: process.pid, ...bindings });
}
