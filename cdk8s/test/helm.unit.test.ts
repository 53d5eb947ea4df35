// The generated Helm chart (src/helm.ts) without Helm: fresh, its values.yaml the bundle's defaults, and the
// generator refusing a field it cannot template. helm.test.ts renders it with Helm itself.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { bundleHelmChart, buildBundle, REPO_ROOT } from '../main.js';
import { HELM_CHART_DIR, HELM_MODES, HELM_VALUES, helmChart, modeCombinations } from '../src/helm.js';
import { defaultValues, DEFAULT_VALUES, valuesWith } from '../src/values.js';
import { MONITORING_FIXTURE } from './support.js';

const chartDir = join(REPO_ROOT, HELM_CHART_DIR);
const valueAt = (root: unknown, path: string) =>
  path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], root);
const synthesize = (v: Parameters<typeof buildBundle>[0]) => buildBundle(v, MONITORING_FIXTURE).manifests();

describe('the generated Helm chart', () => {
  const fresh = bundleHelmChart(defaultValues());

  test('the committed chart is what synth generates now, file for file', () => {
    const committed = readdirSync(chartDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(chartDir.length + 1))
      .sort();
    expect(committed).toEqual([...fresh.keys()].sort());
    for (const [file, text] of fresh)
      expect([file, readFileSync(join(chartDir, file), 'utf8')]).toEqual([file, text]);
  });

  test('values.yaml holds exactly the modes and the templated fields, at their default values', () => {
    const values = parse(fresh.get('values.yaml')!) as Record<string, unknown>;
    for (const path of [...HELM_MODES, ...HELM_VALUES])
      expect([path, valueAt(values, path)]).toEqual([path, valueAt(DEFAULT_VALUES, path)]);
    const leaves = (node: unknown, prefix = ''): string[] =>
      typeof node === 'object' && node !== null
        ? Object.entries(node).flatMap(([k, v]) => leaves(v, `${prefix}${k}.`))
        : [prefix.slice(0, -1)];
    expect(leaves(values).sort()).toEqual([...HELM_MODES, ...HELM_VALUES].sort());
  });

  test('values.schema.json refuses any field it does not template (so Helm never ignores a value)', () => {
    const schema = JSON.parse(fresh.get('values.schema.json')!) as {
      additionalProperties: boolean;
      properties: Record<string, { additionalProperties: boolean; properties: Record<string, unknown> }>;
    };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.service!.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties.service!.properties).sort()).toEqual([
      'pdbMaxUnavailable',
      'resources',
    ]);
    expect(schema.properties.postgres!.properties.mode).toEqual({
      type: 'string',
      enum: ['bundled', 'external', 'cloudnative-pg'],
    });
  });

  test('the modes are every combination of the schema options', () => {
    expect(modeCombinations()).toHaveLength(3 * 2 * 2);
    expect(modeCombinations()[0]).toEqual({
      'postgres.mode': 'bundled',
      'redis.mode': 'bundled',
      'monitoring.mode': 'bundled',
    });
  });

  test('an object present in some modes only is guarded by those modes, and the rest by none', () => {
    const postgres = fresh.get('templates/10-postgres.yaml')!;
    expect(postgres).toMatch(
      /\{\{- if eq \.Values\.postgres\.mode "cloudnative-pg" \}\}\n---\napiVersion: postgresql\.cnpg\.io\/v1/,
    );
    expect(postgres).not.toMatch(/redis\.mode/);
    // The AlertScaler is the same in every mode: no `if` line right before it.
    expect(fresh.get('templates/55-alertscaler.yaml')).toMatch(
      /(?<!\}\}\n)---\napiVersion: [^\n]+\nkind: AlertScaler\n/,
    );
  });

  test('the CRDs are plain YAML in crds/ (installed first), the namespace is left to the install steps', () => {
    expect(fresh.get('crds/00-crds.yaml')).toBe(
      readFileSync(join(REPO_ROOT, 'charts/00-crds.k8s.yaml'), 'utf8'),
    );
    expect([...fresh.keys()].filter((f) => /namespace/.test(f))).toEqual([
      'templates/00-release-namespace.yaml',
    ]);
  });

  test('the alert templates of the rules stay literal text for Helm', () => {
    expect(fresh.get('templates/40-prometheus.yaml')).toContain('{{ "{{" }} $labels');
  });

  test.each([
    [
      'a field that feeds a computation (max_connections)',
      'service.maxReplicas',
      /refuses.*service\.maxReplicas/,
    ],
    ['a field read apart (the tag of an image)', 'postgres.image', /postgres.*postgres\.image/],
    ['a field that feeds a checksum', 'service.logLevel', /booking-service.*service\.logLevel/],
  ])('refuses to template %s, naming it', (_what, path, error) => {
    expect(() => helmChart(valuesWith({}), synthesize, { values: [path], modes: [] })).toThrow(error);
  });
});
