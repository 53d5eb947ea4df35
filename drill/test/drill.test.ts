// The incident drill, short form, end to end: real Postgres and Redis, the service in local cluster mode,
// Prometheus, Alertmanager, the controller in MODE=local and the load runner. Asserts the sequence, not timings.
import { summarize, type DrillRecord } from '../src/analysis.js';
import { DEFAULT_DRILL, PEAK_STAGE, runDrill } from '../src/drill.js';

// reports/ is not committed; the record and chart of the last test run stay there to read after a failure.
const OUT = 'reports/drill/test-run';
let record: DrillRecord;
const lines: string[] = [];

beforeAll(async () => {
  record = await runDrill({ ...DEFAULT_DRILL, peakSeconds: 50, out: OUT, log: (line) => lines.push(line) });
}, 240_000);

describe('the incident drill', () => {
  const timeline = () => lines.join('\n');

  it('fires the p90 alert under the peak load', () => {
    const summary = summarize(record, PEAK_STAGE);
    expect({ fired: summary.fired, timeline: summary.fired ? '' : timeline() }).toEqual({
      fired: true,
      timeline: '',
    });
  });

  it('scales up at least once, only while the alert fires, never above the maximum', () => {
    const summary = summarize(record, PEAK_STAGE);
    expect(summary.scaleUps.length).toBeGreaterThanOrEqual(1);
    for (const up of summary.scaleUps) {
      expect(up.t).toBeGreaterThanOrEqual(summary.firstFiring!);
      expect(up.to).toBeLessThanOrEqual(DEFAULT_DRILL.maxWorkers);
    }
    expect(summary.maxWorkersSeen).toBeLessThanOrEqual(DEFAULT_DRILL.maxWorkers);
  });

  it('has a lower p90 under the same load after scaling than when it scaled', () => {
    const summary = summarize(record, PEAK_STAGE);
    expect(summary.p90AfterScaling).not.toBeNull();
    expect(summary.p90AfterScaling!).toBeLessThan(summary.p90AtFirstScaleUp!);
  });

  it('resolves the alert, then scales down no earlier than the stabilization window after it', () => {
    const summary = summarize(record, PEAK_STAGE);
    expect(summary.firstResolved).toBeDefined();
    expect(summary.scaleDowns.length).toBeGreaterThanOrEqual(1);
    const lastResolvedBeforeDown = record.samples
      .filter((s) => s.t <= summary.scaleDowns[0]!.t)
      .findLast((s, i, all) => s.alertActive && !all[i + 1]?.alertActive);
    // Sampled once a second; the controller hears of the resolution a little after Alertmanager shows it.
    expect(summary.scaleDowns[0]!.t - lastResolvedBeforeDown!.t).toBeGreaterThanOrEqual(
      record.policy.stabilizationSeconds - 2,
    );
  });

  it('leaves nothing running', () => {
    expect(record.leftRunning).toEqual([]);
  });
});
