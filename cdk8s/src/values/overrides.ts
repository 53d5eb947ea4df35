import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_VALUES } from './defaults.js';
import { resolveValues, ValuesError, type BundleValues, type ValuesOverride } from './schema.js';

/**
 * The bundle's values are overridable at synth time without editing code, and validated before anything is
 * built. Overrides, applied in this order over {@link DEFAULT_VALUES}:
 * 1. `BUNDLE_VALUES=path/to/values.json` (or .yaml): a partial values object, deep-merged (arrays replace).
 * 2. `BUNDLE_NAMESPACE`, `BUNDLE_IMAGE` (`repository` or `repository:tag`), `BUNDLE_IMAGE_TAG`.
 * 3. `BUNDLE_SET="service.replicas=3,postgres.storageSize=20Gi"`: dotted paths; values parsed as JSON when
 *    they parse (numbers, booleans, arrays), else taken as strings.
 */

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep merge: objects merge key by key, anything else (arrays included) replaces. */
export function mergeValues(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = mergeValues(base[key], value);
  return out;
}

/** `a.b.c` and a value as the override `{ a: { b: { c: value } } }`. */
export function overrideAt(path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  const override: Record<string, unknown> = {};
  let cursor = override;
  keys.forEach((key, i) => {
    if (!key) throw new ValuesError(`BUNDLE_SET: bad path "${path}"`);
    if (i === keys.length - 1) cursor[key] = value;
    else cursor = cursor[key] = {};
  });
  return override;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  return mergeValues(target, overrideAt(path, value)) as Record<string, unknown>;
}

function parseScalar(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Defaults merged with the overrides found in `env` (see the module comment). */
export function loadValues(env: NodeJS.ProcessEnv = process.env): BundleValues {
  let merged = DEFAULT_VALUES as unknown as Record<string, unknown>;
  if (env.BUNDLE_VALUES) {
    let fileValues: unknown;
    try {
      fileValues = parseYaml(readFileSync(env.BUNDLE_VALUES, 'utf8'));
    } catch (error) {
      throw new ValuesError(`BUNDLE_VALUES: cannot read ${env.BUNDLE_VALUES}: ${(error as Error).message}`);
    }
    if (!isPlainObject(fileValues))
      throw new ValuesError(`BUNDLE_VALUES: ${env.BUNDLE_VALUES} is not an object`);
    merged = mergeValues(merged, fileValues) as Record<string, unknown>;
  }
  if (env.BUNDLE_NAMESPACE) merged = setPath(merged, 'namespace', env.BUNDLE_NAMESPACE);
  if (env.BUNDLE_IMAGE) {
    const at = env.BUNDLE_IMAGE.lastIndexOf(':');
    const hasTag = at > env.BUNDLE_IMAGE.lastIndexOf('/');
    merged = setPath(merged, 'image.repository', hasTag ? env.BUNDLE_IMAGE.slice(0, at) : env.BUNDLE_IMAGE);
    if (hasTag) merged = setPath(merged, 'image.tag', env.BUNDLE_IMAGE.slice(at + 1));
  }
  if (env.BUNDLE_IMAGE_TAG) merged = setPath(merged, 'image.tag', env.BUNDLE_IMAGE_TAG);
  for (const assignment of (env.BUNDLE_SET ?? '').split(',').filter((a) => a.trim())) {
    const eq = assignment.indexOf('=');
    if (eq < 1) throw new ValuesError(`BUNDLE_SET: "${assignment}" is not path=value`);
    merged = setPath(merged, assignment.slice(0, eq).trim(), parseScalar(assignment.slice(eq + 1).trim()));
  }
  return resolveValues(merged);
}

/** Defaults with a typed partial override: for tests and for code that builds variants. */
export function valuesWith(override: ValuesOverride): BundleValues {
  return resolveValues(mergeValues(DEFAULT_VALUES, override));
}
