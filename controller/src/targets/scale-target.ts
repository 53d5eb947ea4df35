/** What the controller scales: read the replicas with a version, write them only at that version. */
export interface ScaleState {
  replicas: number;
  /** Opaque: the write fails with ConflictError when the target changed since this version was read. */
  resourceVersion: string;
}

export interface ScaleTarget {
  /** For messages: `Deployment/booking-service`, `worker pool http://127.0.0.1:9464`. */
  readonly description: string;
  get(): Promise<ScaleState>;
  set(replicas: number, resourceVersion: string): Promise<void>;
}

/** Someone else changed the target since it was read: re-read and decide again, never overwrite blindly. */
export class ConflictError extends Error {
  constructor(description: string) {
    super(`${description} changed since it was read`);
  }
}

/** resolve: make the target from the spec's scaleTargetRef; get and set: its /scale. */
export type TargetOperation = 'resolve' | 'get' | 'set';

/** The target could not be read or written (not found, forbidden, unreachable): retried with backoff. */
export class TargetError extends Error {
  constructor(
    readonly operation: TargetOperation,
    description: string,
    detail: string,
  ) {
    super(`${operation} ${description}: ${detail}`);
  }
}

/**
 * No retry can reach this target (an invalid scaleTargetRef): like controller-runtime's TerminalError, the
 * AlertScaler is not reconciled again until its spec changes.
 */
export class InvalidTargetError extends TargetError {
  constructor(description: string, detail: string) {
    super('resolve', description, detail);
  }
}
