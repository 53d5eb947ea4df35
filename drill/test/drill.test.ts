// The incident drill end to end: real Postgres and Redis, the service in local cluster mode with capped
// workers, Prometheus, Alertmanager, the controller in MODE=local and the load runner. The peak is calibrated
// on this machine first; the assertions read the scorecard, never a timing measured against a fixed number.
import type { DrillRecord } from '../src/record.js';
import { DEFAULT_DRILL, reportLines, runDrill } from '../src/drill.js';
import { SCENARIOS } from '../src/scenarios.js';

// reports/ is not committed; the record and charts of the last test run stay there to read after a failure.
const OUT = 'reports/drill/test-run';
let record: DrillRecord;
const lines: string[] = [];
/** Printed with a failed assertion: the timeline says what happened. */
const timeline = () => [...lines, ...reportLines(record)].join('\n');

beforeAll(async () => {
  record = await runDrill({
    ...DEFAULT_DRILL,
    scenarios: SCENARIOS,
    cluster: false,
    out: OUT,
    log: (line) => lines.push(line),
  });
}, 20 * 60_000);

const card = (name: 'capacity' | 'incident') => {
  const scorecard = record.scorecard[name];
  if (!scorecard) throw new Error(`no scorecard for ${name}:\n${timeline()}`);
  return scorecard;
};
const expectCard = (name: 'capacity' | 'incident', expected: object) =>
  expect({ scorecard: card(name), timeline: '' }).toMatchObject({ scorecard: expected, timeline: '' });

describe('the capacity scenario (the workers are the bottleneck)', () => {
  it('calibrates a peak from one capped worker on this machine', () => {
    expect({ choice: record.calibration?.choice, steps: record.calibration?.steps }).toMatchObject({
      choice: { ok: true },
    });
  });

  it('fires the p90 alert under the peak and scales up, never above the maximum', () => {
    expectCard('capacity', { fired: true });
    expect(card('capacity').scaleUps).toBeGreaterThanOrEqual(1);
    expect(card('capacity').maxWorkers).toBeLessThanOrEqual(DEFAULT_DRILL.maxWorkers);
  });

  it('recovers within 60 s of the last scale-up while the peak continues, and the alert resolves during it', () => {
    expectCard('capacity', { recovered: true, resolvedDuringPeak: true });
    expect(card('capacity').recoverSeconds).toBeLessThanOrEqual(60);
  });

  it('gives the workers back only after the stabilization window', () => {
    expectCard('capacity', { scaleDownAfterStabilization: true, scaledBackToMin: true });
  });
});

describe('the incident scenario (the database is the bottleneck)', () => {
  it('fires the p90 alert, and holds for saturation instead of scaling up', () => {
    expectCard('incident', { fired: true, heldForSaturation: true, scaleUpsWhileSaturated: 0 });
  });

  it('recovers after the cache is switched on in the running service, and the alert resolves', () => {
    const incident = record.scenarios.find((s) => s.name === 'incident');
    expect(incident?.actions.map((a) => a.what)).toEqual([
      expect.stringContaining('seat-map cache switched on'),
    ]);
    expectCard('incident', { recovered: true, resolvedDuringPeak: true });
    expect(card('incident').recoverSeconds).toBeLessThanOrEqual(60);
  });
});

it('leaves nothing running', () => {
  expect(record.leftRunning).toEqual([]);
});
