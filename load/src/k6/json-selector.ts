/**
 * `Response.json(selector)`: the part of GJSON's path syntax (https://github.com/tidwall/gjson) that plain
 * paths need: `a.b`, an array index `items.0`, `items.#` (the length) and `items.#.id` (the field of every
 * element). Wildcards, queries, modifiers and escapes are refused by name. A missing value is undefined.
 */
import { UnsupportedK6Api } from './unsupported.js';

export function selectJson(value: unknown, selector: string): unknown {
  if (/[*?|@\\!=<>%(),]/.test(selector) || selector === '') {
    throw new UnsupportedK6Api(`the JSON selector "${selector}" (only a.b, a.0, a.# and a.#.b)`);
  }
  return walk(value, selector.split('.'));
}

function walk(value: unknown, path: string[]): unknown {
  if (path.length === 0) return value;
  const [key, ...rest] = path as [string, ...string[]];
  if (key === '#') {
    if (!Array.isArray(value)) return undefined;
    if (rest.length === 0) return value.length;
    return value.map((item) => walk(item, rest)).filter((item) => item !== undefined);
  }
  if (Array.isArray(value)) return /^\d+$/.test(key) ? walk(value[Number(key)], rest) : undefined;
  if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
  return walk((value as Record<string, unknown>)[key], rest);
}
