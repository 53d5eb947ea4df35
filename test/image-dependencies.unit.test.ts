import { readFileSync } from 'node:fs';

// What `npm ci --omit=dev --workspace=lib --workspace=service --workspace=controller` installs in the image
// (Dockerfile), worked out from the lockfile: the production dependencies of those packages, transitively.
interface LockEntry {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  link?: boolean;
  resolved?: string;
}
const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as {
  packages: Record<string, LockEntry>;
};

/** Where Node finds `name` from the package installed at `location` (its node_modules, then its parents'). */
function locate(name: string, location: string): string {
  for (let at = location; ; at = at.slice(0, Math.max(0, at.lastIndexOf('/node_modules/')))) {
    const key = at ? `${at}/node_modules/${name}` : `node_modules/${name}`;
    if (lock.packages[key]) return key;
    if (!at) throw new Error(`${name} (needed by ${location || 'the root'}) is not in the lockfile`);
  }
}

function productionClosure(workspaces: string[]): Set<string> {
  const names = new Set<string>();
  const seen = new Set<string>();
  const visit = (location: string) => {
    if (seen.has(location)) return;
    seen.add(location);
    const entry = lock.packages[location]!;
    if (entry.link) return visit(entry.resolved!);
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
      names.add(name);
      visit(locate(name, location));
    }
  };
  workspaces.forEach(visit);
  return names;
}

const TOOLS = [
  'cdk8s',
  'cdk8s-plus-33',
  'constructs',
  'tsx',
  'vega',
  'vega-lite',
  'autocannon',
  'typescript',
  'jest',
];

test("the image's packages need none of the tools, and all of what they import", () => {
  const image = productionClosure(['lib', 'service', 'controller']);
  expect(TOOLS.filter((tool) => image.has(tool))).toEqual([]);
  for (const runtime of [
    'koa',
    'knex',
    'pg',
    'ioredis',
    'prom-client',
    'pino',
    'zod',
    '@kubernetes/client-node',
  ])
    expect(image).toContain(runtime);
});

test('the same walk finds the tools where they are dependencies (it can fail)', () => {
  const bundleApp = productionClosure(['cdk8s']);
  expect(bundleApp).toContain('cdk8s-plus-33');
  expect(bundleApp).toContain('constructs');
  expect(productionClosure(['devkit'])).toContain('tsx');
});
