import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '@concert-booking/lib';
import { SERVICE_METRICS } from '../metrics.js';
import {
  nextAdmissionRate,
  type AdmissionDecision,
  type AdmissionSignals,
  type CapacityAdmissionPolicy,
} from './capacity-admission.js';

/** The waiting room's seam: the admissions per round to run at now. */
export interface AdmissionRate {
  perInterval(): number;
}

/** QUEUE_ADMISSION=fixed: QUEUE_ADMIT_PER_INTERVAL, always. */
export function fixedRate(perInterval: number, registry: Registry): AdmissionRate {
  new Gauge({ ...SERVICE_METRICS.queueAdmissionRate, registers: [registry] }).set(perInterval);
  return { perInterval: () => perInterval };
}

export interface CapacityRateOptions {
  policy: CapacityAdmissionPolicy;
  read: () => Promise<AdmissionSignals | undefined>;
  updateMs: number;
  registry: Registry;
  logger: Logger;
}

/**
 * QUEUE_ADMISSION=capacity: re-decides the rate every `updateMs` from the signals. Starts at the minimum, so a
 * restarted replica ramps up as a new one would rather than admitting a burst.
 */
export class CapacityRate implements AdmissionRate {
  private rate: number;
  private sourceDown = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly gauge: Gauge;

  constructor(private readonly options: CapacityRateOptions) {
    this.rate = options.policy.min;
    this.gauge = new Gauge({ ...SERVICE_METRICS.queueAdmissionRate, registers: [options.registry] });
    this.gauge.set(this.rate);
  }

  perInterval(): number {
    return this.rate;
  }

  /** One decision (the timer calls this; tests may too). */
  async update(): Promise<AdmissionDecision> {
    const decision = nextAdmissionRate(this.options.policy, this.rate, await this.options.read());
    const down = decision.reason === 'source-down';
    if (down !== this.sourceDown) {
      this.options.logger.warn(
        { perInterval: decision.perInterval },
        down ? 'admission signals unavailable: keeping the last rate' : 'admission signals readable again',
      );
    }
    this.sourceDown = down;
    this.rate = decision.perInterval;
    this.gauge.set(this.rate);
    return decision;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.update(), this.options.updateMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
