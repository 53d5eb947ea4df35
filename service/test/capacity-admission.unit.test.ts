import {
  nextAdmissionRate,
  type AdmissionReason,
  type AdmissionSignals,
  type CapacityAdmissionPolicy,
} from '../src/queue/capacity-admission.js';

const policy: CapacityAdmissionPolicy = {
  perReplica: 20,
  min: 5,
  max: 200,
  p90BudgetSeconds: 0.4,
  decreaseFactor: 0.5,
  increaseStep: 10,
};

const ok = (readyReplicas: number, p90Seconds: number | null = 0.1): AdmissionSignals => ({
  readyReplicas,
  p90Seconds,
  p90AlertFiring: false,
});

describe('capacity-coupled admission', () => {
  test.each<[string, number, number, AdmissionReason, AdmissionSignals | undefined]>([
    // what, previous rate, next rate, reason, signals
    ['grows a step towards the ready capacity', 20, 30, 'increase', ok(3)],
    ['stops at the ready capacity (3 x 20)', 55, 60, 'increase', ok(3)],
    ['holds at capacity', 60, 60, 'at-capacity', ok(3)],
    ['a replica more: grows again, gradually', 60, 70, 'increase', ok(4)],
    ['replicas gone: follows the capacity down at once', 80, 40, 'above-capacity', ok(2)],
    ['no traffic (no p90) is not over budget', 20, 30, 'increase', ok(3, null)],
    ['p90 at the budget is within it', 20, 30, 'increase', ok(3, 0.4)],
    ['p90 over budget: halves', 60, 30, 'over-budget', ok(3, 0.45)],
    [
      'p90 alert firing, p90 fine now: halves all the same',
      60,
      30,
      'over-budget',
      { ...ok(3), p90AlertFiring: true },
    ],
    ['over budget and capacity fell: the lower of the two', 60, 20, 'over-budget', ok(1, 0.9)],
    ['over budget at the floor: never below min', 6, 5, 'over-budget', ok(3, 0.9)],
    ['no ready replica: admits the minimum, never stops', 30, 5, 'above-capacity', ok(0)],
    ['capacity beyond max: never more than max', 195, 200, 'increase', ok(50)],
    ['source down: keeps the last rate', 42, 42, 'source-down', undefined],
    ['source down: the last rate within the bounds (max lowered)', 500, 200, 'source-down', undefined],
    ['source down: the last rate within the bounds (min raised)', 1, 5, 'source-down', undefined],
    ['fractional capacity rounds down', 5, 15, 'increase', { ...ok(0), readyReplicas: 1.5 }],
  ])('%s: %i -> %i (%s)', (_what, previous, next, reason, signals) => {
    expect(nextAdmissionRate(policy, previous, signals)).toEqual({ perInterval: next, reason });
  });

  it('from the floor, reaches a new replica set capacity in steps and then holds', () => {
    const rates: number[] = [];
    let rate = policy.min;
    for (let update = 0; update < 8; update++) {
      rate = nextAdmissionRate(policy, rate, ok(2)).perInterval;
      rates.push(rate);
    }
    expect(rates).toEqual([15, 25, 35, 40, 40, 40, 40, 40]);
  });
});
