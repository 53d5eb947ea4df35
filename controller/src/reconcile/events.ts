import type { CoreV1Api } from '@kubernetes/client-node';
import { API_VERSION, KIND, type AlertScaler } from '../api/alertscaler.js';
import type { Logger } from '@concert-booking/lib';

export type EventType = 'Normal' | 'Warning';

/** Kubernetes Events on an AlertScaler (or log lines in the local drill). */
export interface EventRecorder {
  record(scaler: AlertScaler, type: EventType, reason: string, message: string): Promise<void>;
}

/** core/v1 Events: what `kubectl describe alertscaler` shows. A failed Event is logged, never fatal. */
export class KubeEventRecorder implements EventRecorder {
  constructor(
    private readonly api: CoreV1Api,
    private readonly instance: string,
    private readonly logger: Logger,
  ) {}

  async record(scaler: AlertScaler, type: EventType, reason: string, message: string): Promise<void> {
    const now = new Date();
    try {
      await this.api.createNamespacedEvent({
        namespace: scaler.namespace,
        body: {
          metadata: { generateName: `${scaler.name}.`, namespace: scaler.namespace },
          involvedObject: {
            apiVersion: API_VERSION,
            kind: KIND,
            name: scaler.name,
            namespace: scaler.namespace,
            uid: scaler.uid,
          },
          type,
          reason,
          message,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: 'alertscaler' },
          reportingComponent: 'alertscaler',
          reportingInstance: this.instance,
        },
      });
    } catch (error) {
      this.logger.warn({ err: error, reason, scaler: scaler.name }, 'could not record an Event');
    }
  }
}

export interface RecordedEvent {
  time: string;
  alertscaler: string;
  namespace: string;
  type: EventType;
  reason: string;
  message: string;
}

/**
 * The local drill has no API server: Events are logged and the latest are kept in memory, where the
 * controller's `GET /alertscalers` shows them (as `kubectl describe` would).
 */
export class MemoryEventRecorder implements EventRecorder {
  private readonly recent: RecordedEvent[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly keep = 200,
  ) {}

  async record(scaler: AlertScaler, type: EventType, reason: string, message: string): Promise<void> {
    this.recent.push({
      time: new Date().toISOString(),
      alertscaler: scaler.name,
      namespace: scaler.namespace,
      type,
      reason,
      message,
    });
    this.recent.splice(0, this.recent.length - this.keep);
    this.logger.info(
      { event: { type, reason, message }, scaler: scaler.name },
      `event ${reason}: ${message}`,
    );
  }

  list(): readonly RecordedEvent[] {
    return this.recent;
  }
}
