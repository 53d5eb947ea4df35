/**
 * The layer's one rule: a k6 API it does not implement fails loudly with its name, never silently
 * (load/README.md, "k6 scripts in the tests"). Thrown from the VU workers and from the option checks.
 */
export class UnsupportedK6Api extends Error {
  constructor(readonly api: string) {
    super(`the k6 compatibility layer does not support ${api} (see load/README.md)`);
    this.name = 'UnsupportedK6Api';
  }
}

/**
 * `object` as is, except that reading a property it lacks throws UnsupportedK6Api naming `${what}.${key}`.
 * `then` and `toJSON` stay undefined: generic code (await, JSON.stringify) probes them without using k6.
 */
export function strict<T extends object>(object: T, what: string): T {
  return new Proxy(object, {
    get(target, key, receiver) {
      if (typeof key === 'symbol' || key in target) return Reflect.get(target, key, receiver);
      if (key === 'then' || key === 'toJSON') return undefined;
      throw new UnsupportedK6Api(`${what}.${key}`);
    },
  });
}

/** Throws UnsupportedK6Api for the first key of `object` outside `known`, named `${what}.${key}`. */
export function onlyKnownKeys(object: object, known: readonly string[], what: string): void {
  const unknown = Object.keys(object).find((key) => !known.includes(key));
  if (unknown !== undefined) throw new UnsupportedK6Api(`${what}.${unknown}`);
}
