import { ALERTS, AUTOSCALE_LABEL, AUTOSCALE_TARGET } from '@concert-booking/lib';
import type { AlertScalerSpecInput } from './alertscaler.js';

export interface BookingScalerOptions {
  /** The namespace label the alerts carry (the target's namespace). */
  namespace: string;
  scaleTargetRef: AlertScalerSpecInput['scaleTargetRef'];
  minReplicas: number;
  maxReplicas: number;
  scaleUp?: AlertScalerSpecInput['scaleUp'];
  scaleDown?: AlertScalerSpecInput['scaleDown'];
  saturationHoldSeconds?: number;
}

/**
 * The booking service's AlertScaler: scale up on the p90 alert, hold while the database pool is exhausted.
 * The bundle (cdk8s) and the local drill build theirs here; the policy defaults are the cluster's.
 */
export function bookingAlertScalerSpec(options: BookingScalerOptions): AlertScalerSpecInput {
  const matchers = [
    { name: AUTOSCALE_LABEL, op: '=' as const, value: AUTOSCALE_TARGET },
    { name: 'namespace', op: '=' as const, value: options.namespace },
  ];
  return {
    scaleTargetRef: options.scaleTargetRef,
    alerts: [{ alertName: ALERTS.highP90Latency, matchers }],
    // More replicas add connections and concurrent slow queries to an exhausted database. Held one rate
    // window (monitoring's 5 m) past the end of the saturation: until then the p90 still averages over it.
    saturation: {
      alerts: [{ alertName: ALERTS.dbPoolWaiting, matchers }],
      holdSeconds: options.saturationHoldSeconds ?? 300,
    },
    minReplicas: options.minReplicas,
    maxReplicas: options.maxReplicas,
    // 2 pods at a time, then 3 minutes: the p90 over the 5 m rate window needs that long to show the effect.
    scaleUp: options.scaleUp ?? { step: { type: 'Pods', value: 2 }, cooldownSeconds: 180 },
    // Give back one pod at a time, only after 10 quiet minutes, and 5 minutes apart: flapping costs more than pods.
    scaleDown: options.scaleDown ?? {
      step: { type: 'Pods', value: 1 },
      stabilizationWindowSeconds: 600,
      cooldownSeconds: 300,
    },
    paused: false,
    dryRun: false,
  };
}
