import { alertScalerSpecSchema } from '../src/api/alertscaler.js';
import { onSaleCrdManifest, onSaleSpecSchema, parseOnSale, type OnSalePhase } from '../src/api/onsale.js';
import { heldSpec, holdsReplicas, onSalePhase, publishesSale } from '../src/onsale/schedule.js';
import { decide } from '../src/policy.js';

const OPENS = Date.parse('2026-12-01T18:00:00Z');
const at = (secondsFromOpen: number) => new Date(OPENS + secondsFromOpen * 1000);
const sale = onSaleSpecSchema.parse({
  timeslotIds: [1, 2],
  opensAt: at(0).toISOString(),
  closesAt: at(3600).toISOString(),
  preQueueSeconds: 900,
  scaling: { alertScalerName: 'booking-service', minReplicas: 6, leadSeconds: 600 },
});

describe('OnSale phases', () => {
  test.each<[string, OnSalePhase | undefined, number, number | undefined, OnSalePhase]>([
    // what, previous phase, seconds from opensAt, waiting, phase
    ['long before', undefined, -86_400, undefined, 'Scheduled'],
    ['a moment before the pre-queue', 'Scheduled', -901, 0, 'Scheduled'],
    ['the pre-queue opens', 'Scheduled', -900, 0, 'PreQueue'],
    ['during the pre-queue', 'PreQueue', -1, 500, 'PreQueue'],
    ['at opensAt', 'PreQueue', 0, 500, 'Open'],
    ['open, the queue empty for a moment', 'Open', 60, 0, 'Open'],
    ['a controller started mid-sale', undefined, 1800, 200, 'Open'],
    ['closed with users waiting', 'Open', 3600, 120, 'Draining'],
    ['closed, the queue unknown (Prometheus down): not Done', 'Open', 3600, undefined, 'Draining'],
    ['drained', 'Draining', 3700, 0, 'Done'],
    ['closed, never waited on', 'Open', 3600, 0, 'Done'],
    ['done is final, whatever the clock says', 'Done', -1000, 50, 'Done'],
  ])('%s: %s at %is, %s waiting -> %s', (_what, previous, seconds, waiting, phase) => {
    expect(onSalePhase(sale, previous, at(seconds), waiting)).toBe(phase);
  });

  test.each<[string, OnSalePhase, number, boolean]>([
    ['before the lead time', 'Scheduled', -601, false],
    ['at the lead time, still Scheduled', 'Scheduled', -600, true],
    ['during the pre-queue', 'PreQueue', -10, true],
    ['open', 'Open', 10, true],
    ['draining', 'Draining', 4000, true],
    ['done', 'Done', 4000, false],
  ])('holds replicas %s (%s at %is): %s', (_what, phase, seconds, holds) => {
    expect(holdsReplicas(sale, phase, at(seconds))).toBe(holds);
  });
});

describe('the AlertScaler under a sale', () => {
  const scaler = alertScalerSpecSchema.parse({
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'booking-service' },
    alerts: [{ alertName: 'BookingHighP90Latency' }],
    minReplicas: 2,
    maxReplicas: 10,
    scaleDown: { stabilizationWindowSeconds: 0, cooldownSeconds: 0 },
  });

  test.each<[string, number[], number, number]>([
    // what, holding sales' minReplicas, current replicas, floor
    ['no sale: the spec as it is', [], 3, 2],
    ['a sale raises the floor', [6], 2, 6],
    ['above the sale floor: held where it is (no scale-in)', [6], 8, 8],
    ['two sales: the larger floor', [4, 7], 2, 7],
    ['never past maxReplicas', [50], 3, 10],
  ])('%s: sales %j at %i replicas -> minReplicas %i', (_what, holds, current, floor) => {
    const held = heldSpec(scaler, holds, current);
    expect(held.minReplicas).toBe(floor);
    expect(held.maxReplicas).toBe(scaler.maxReplicas);
  });

  const now = new Date('2026-12-01T17:55:00Z');
  const decideHeld = (holds: number[], current: number, firing: number) =>
    decide({
      spec: heldSpec(scaler, holds, current),
      currentReplicas: current,
      firing,
      saturatedBy: [],
      now,
    });

  it('pre-scales to the floor at once, without waiting for an alert', () => {
    expect(decideHeld([6], 2, 0)).toMatchObject({ desiredReplicas: 6, reason: 'BelowMin', apply: true });
  });
  it('does not scale in while held, though no alert fires', () => {
    expect(decide({ spec: scaler, currentReplicas: 8, firing: 0, saturatedBy: [], now })).toMatchObject({
      reason: 'ScaleDown',
    });
    expect(decideHeld([6], 8, 0)).toMatchObject({ desiredReplicas: 8, reason: 'AtMin', apply: false });
  });
  it('still scales up on the p90 alert while held', () => {
    expect(decideHeld([6], 6, 1)).toMatchObject({ desiredReplicas: 7, reason: 'ScaleUp', apply: true });
  });
});

describe('the OnSale schema and CRD', () => {
  it('refuses a sale that closes before it opens, naming the field', () => {
    const parsed = parseOnSale({
      metadata: { name: 's', namespace: 'n' },
      spec: { ...sale, closesAt: sale.opensAt },
    });
    expect(parsed.spec).toEqual({ valid: false, problem: 'closesAt: opensAt must be before closesAt' });
  });
  it('derives the CRD spec schema from the zod schema', () => {
    const crd = onSaleCrdManifest() as {
      spec: {
        versions: { schema: { openAPIV3Schema: { properties: { spec: Record<string, unknown> } } } }[];
      };
    };
    const spec = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec as {
      required: string[];
      properties: Record<string, { format?: string }>;
    };
    expect(spec.required).toEqual(expect.arrayContaining(['timeslotIds', 'opensAt', 'closesAt', 'scaling']));
    expect(spec.properties.opensAt?.format).toBe('date-time');
    expect(JSON.stringify(spec)).not.toContain('additionalProperties');
  });
});

test.each([
  [undefined, false],
  ['Scheduled', false],
  ['PreQueue', true],
  ['Open', true],
  ['Draining', false],
  ['Done', false],
] as const)('a %s sale is published to the waiting room: %s', (phase, published) => {
  expect(publishesSale(phase)).toBe(published);
});
