// Every generated file reads the same under YAML 1.1 (PyYAML: Ansible, the Kubernetes Python client,
// checkov) as under YAML 1.2 (kubectl, Go), and the renderer changes nothing but the quoting 1.1 needs.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Yaml } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { buildBundle, REPO_ROOT } from '../main.js';
import { stringifyManifests } from '../src/bundle.js';
import { loadMonitoringFiles } from '../src/monitoring-files.js';
import { defaultValues } from '../src/values.js';

/**
 * PyYAML's safe loader over each file, as JSON. A value YAML 1.1 reads as something other than a JSON
 * type (a timestamp, a set, ...) comes out as `{ "__yaml11__": type }`, so it differs from the 1.2 reading.
 */
const PYYAML_AS_JSON = `
import json, sys, yaml
def typed(value):
    return {"__yaml11__": type(value).__name__, "value": str(value)}
out = {}
for path in sys.argv[1:]:
    with open(path) as f:
        out[path] = list(yaml.safe_load_all(f))
print(json.dumps(out, default=typed))
`;

function generatedFiles(): string[] {
  // helm/: the chart's Chart.yaml and values.yaml (its templates are Go templates, not YAML).
  const roots = ['charts', 'monitoring/generated', 'helm'].map((dir) => join(REPO_ROOT, dir));
  return roots
    .filter((dir) => existsSync(dir))
    .flatMap((dir) =>
      readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name) && !e.parentPath.includes('/templates'))
        .map((e) => join(e.parentPath, e.name)),
    )
    .sort();
}

describe('YAML 1.1 parsers read the generated files as YAML 1.2 parsers do', () => {
  const files = generatedFiles();

  test('there are files to read: charts/ and monitoring/generated/', () => {
    const names = files.map((file) => relative(REPO_ROOT, file));
    expect(names).toEqual(
      expect.arrayContaining(['charts/00-crds.k8s.yaml', 'charts/55-alertscaler.k8s.yaml']),
    );
    expect(names.some((name) => name.startsWith('monitoring/generated/'))).toBe(true);
    expect(names).toEqual(expect.arrayContaining(['helm/concert-booking/values.yaml']));
  });

  test('PyYAML loads every file, to the same data', () => {
    // No PyYAML is a failure with Python's message, never a skip.
    const stdout = execFileSync('python3', ['-c', PYYAML_AS_JSON, ...files], { encoding: 'utf8' });
    const yaml11 = JSON.parse(stdout) as Record<string, unknown[]>;
    for (const file of files) {
      const yaml12 = parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => doc.toJS() as unknown);
      expect([relative(REPO_ROOT, file), yaml11[file]]).toEqual([relative(REPO_ROOT, file), yaml12]);
    }
  });

  test('PyYAML refuses what cdk8s alone writes for "=", so the check can fail', () => {
    const text = Yaml.stringify({ op: '=' });
    expect(text).toBe('op: =\n');
    expect(() =>
      execFileSync('python3', ['-c', 'import sys, yaml; yaml.safe_load(sys.stdin)'], {
        input: text,
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    ).toThrow(/could not determine a constructor for the tag 'tag:yaml.org,2002:value'/);
  });

  test('the renderer differs from cdk8s only by quoting "=" scalars', () => {
    const bundle = buildBundle(defaultValues(), loadMonitoringFiles(REPO_ROOT));
    let quoted = 0;
    for (const [file, objects] of bundle.manifests()) {
      const ours = stringifyManifests(objects).split('\n');
      const theirs = Yaml.stringify(...objects).split('\n');
      expect([file, ours.length]).toEqual([file, theirs.length]);
      ours.forEach((line, i) => {
        if (line === theirs[i]) return;
        quoted += 1;
        expect(line).toBe(theirs[i]!.replace(/^(\s*(?:- |[\w-]+: ))=$/, '$1"="'));
      });
    }
    expect(quoted).toBeGreaterThan(0);
  });
});
