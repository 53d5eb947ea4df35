import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import ts from 'typescript';
import { loadTestThresholdEnv } from '@concert-booking/lib';

const root = new URL('../..', import.meta.url).pathname;
const k6Dir = `${root}load/k6`;
const scripts = readdirSync(k6Dir)
  .filter((f) => f.endsWith('.ts') && f !== 'common.ts')
  .sort();

test('the k6 scripts type-check against @types/k6', () => {
  const tsc = `${root}node_modules/typescript/bin/tsc`;
  const run = spawnSync(process.execPath, [tsc, '--noEmit', '-p', 'load/k6/tsconfig.json'], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(run.error).toBeUndefined();
  expect(`${run.stdout}${run.stderr}`).toBe('');
  expect(run.status).toBe(0);
});

/** What a script declares, read from its syntax tree (k6 modules cannot be imported into Node). */
function declarations(file: string) {
  const source = ts.createSourceFile(file, readFileSync(`${k6Dir}/${file}`, 'utf8'), ts.ScriptTarget.ES2020);
  const exported = (node: ts.Node) =>
    ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  const calls: string[] = [];
  let optionKeys: string[] = [];
  let thresholdsFrom = '';
  let summary = '';
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) calls.push(node.expression.getText(source));
    if (ts.isVariableStatement(node) && exported(node)) {
      for (const declaration of node.declarationList.declarations) {
        if (declaration.name.getText(source) !== 'options') continue;
        const value = declaration.initializer;
        if (!value || !ts.isObjectLiteralExpression(value)) continue;
        optionKeys = value.properties.map((p) => p.name?.getText(source) ?? '');
        const thresholds = value.properties.find((p) => p.name?.getText(source) === 'thresholds');
        if (thresholds && ts.isPropertyAssignment(thresholds)) {
          thresholdsFrom = thresholds.initializer.getText(source);
        }
      }
    }
    if (ts.isFunctionDeclaration(node) && exported(node) && node.name?.text === 'handleSummary') {
      summary = node.body?.getText(source) ?? '';
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { calls, optionKeys, thresholdsFrom, summary };
}

test('the scripts are the three scenarios of load/README.md', () => {
  expect(scripts).toEqual(['booking-flow.ts', 'lock-counter.ts', 'seat-map.ts']);
});

test.each(scripts)('%s has thresholds, checks and a JSON summary named after it', (file) => {
  const scenario = file.replace(/\.ts$/, '');
  const { calls, optionKeys, thresholdsFrom, summary } = declarations(file);
  expect(optionKeys).toContain('thresholds');
  expect(thresholdsFrom).toMatch(/^thresholds\(/);
  expect(calls).toContain('check');
  expect(summary).toContain(`summaryOutputs('${scenario}', data)`);
});

describe("load/k6/common.ts (run here with the Jobs' threshold variables in __ENV)", () => {
  let common: typeof import('../k6/common.js');
  const env = { SUMMARY_DIR: '/reports/', ...loadTestThresholdEnv() };
  beforeAll(async () => {
    (globalThis as { __ENV?: Record<string, string> }).__ENV = env;
    common = await import('../k6/common.js');
  });

  test("thresholds bound p90 latency, failures and checks, per tag when asked, at the alerts' values", () => {
    expect(common.thresholds()).toEqual({
      http_req_duration: ['p(90)<500'],
      http_req_failed: ['rate<0.01'],
      checks: ['rate>0.99'],
    });
    expect(Object.keys(common.thresholds(['{strategy:atomic}']))).toEqual([
      'http_req_duration{strategy:atomic}',
      'http_req_failed{strategy:atomic}',
      'checks',
    ]);
  });

  test('without the threshold variables the script stops, naming the one missing', () => {
    for (const name of ['P90_MS', 'MAX_FAILED_RATE'] as const) {
      const { [name]: _left, ...without } = env;
      (globalThis as { __ENV?: Record<string, string> }).__ENV = without;
      try {
        expect(() => common.thresholds()).toThrow(`${name} is not set`);
      } finally {
        (globalThis as { __ENV?: Record<string, string> }).__ENV = env;
      }
    }
  });

  test('the summary is one compact JSON line on stdout and the full data in SUMMARY_DIR', () => {
    const data = {
      metrics: {
        http_reqs: { type: 'counter', values: { count: 120, rate: 4 } },
        http_req_duration: {
          type: 'trend',
          values: { 'p(90)': 1200 },
          thresholds: { 'p(90)<1000': { ok: false } },
        },
        checks: { type: 'rate', values: { rate: 1 }, thresholds: { 'rate>0.99': { ok: true } } },
      },
      state: { testRunDurationMs: 30_400 },
    };
    const outputs = common.summaryOutputs('seat-map', data);
    expect(Object.keys(outputs).sort()).toEqual(['/reports/seat-map-summary.json', 'stdout']);
    expect(JSON.parse(outputs['/reports/seat-map-summary.json']!)).toEqual(data);
    expect(outputs.stdout!.endsWith('\n')).toBe(true);
    expect(JSON.parse(outputs.stdout!)).toEqual({
      scenario: 'seat-map',
      durationSeconds: 30,
      requests: 120,
      requestsPerSecond: 4,
      latencyMs: { 'p(90)': 1200 },
      failedRate: 0,
      checksRate: 1,
      failedThresholds: ['http_req_duration: p(90)<1000'],
    });
  });
});
