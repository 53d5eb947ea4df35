/**
 * zod's JSON Schema (OpenAPI 3.0 target) -> a Kubernetes structural schema. The API server rejects
 * `additionalProperties` next to `properties`, `$schema`, and zod's "safe integer" bounds are noise;
 * the date-time regex zod adds is replaced by `format: date-time`, which the API server checks itself.
 */
const SAFE_INTEGER = Number.MAX_SAFE_INTEGER;
const DROPPED_KEYS = new Set(['$schema', 'id', '$id']);

type Schema = Record<string, unknown>;

function isObject(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function toStructuralSchema(schema: Schema): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED_KEYS.has(key)) continue;
    if ((key === 'maximum' && value === SAFE_INTEGER) || (key === 'minimum' && value === -SAFE_INTEGER))
      continue;
    if (key === 'pattern' && schema.format === 'date-time') continue;
    if (key === 'additionalProperties' && (value === false || 'properties' in schema)) continue;
    if (key === 'properties' && isObject(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [
          name,
          isObject(child) ? toStructuralSchema(child) : child,
        ]),
      );
    } else if (isObject(value)) {
      out[key] = toStructuralSchema(value);
    } else {
      out[key] = value;
    }
  }
  return out;
}
