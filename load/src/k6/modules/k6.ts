/** `k6`: check, fail, sleep and group, as k6's docs describe them. */
import { currentTags, post, sleepMs, vu } from '../vu-context.js';

/** Runs every named check on `value`, records each in the `checks` rate, and tells whether all passed. */
export function check<T>(
  value: T,
  sets: Record<string, (value: T) => boolean>,
  tags: Record<string, string> = {},
): boolean {
  let all = true;
  for (const [name, test] of Object.entries(sets)) {
    const ok = Boolean(test(value));
    post({ kind: 'check', ok, tags: { ...currentTags(), ...tags, check: name } });
    all &&= ok;
  }
  return all;
}

/** Ends the iteration (or setup) with an error: k6 logs it and goes on with the next iteration. */
export function fail(message = ''): never {
  throw new Error(message);
}

export function sleep(seconds: number): void {
  if (vu.phase === 'init') throw new Error('sleep() is not allowed in the init context');
  sleepMs(seconds * 1000);
}

/** Runs `fn` with its samples tagged `group: ::outer::name`; returns what `fn` returns. */
export function group<T>(name: string, fn: () => T): T {
  if (name.includes('::')) throw new Error(`group names cannot contain "::", got "${name}"`);
  vu.groups.push(name);
  try {
    return fn();
  } finally {
    vu.groups.pop();
  }
}
