import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** An integer variable within [min, max]. */
export const integerVariable = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** A boolean variable: true, false, 1 or 0. */
export const booleanVariable = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

/** A bad environment variable: the programs stop with this message (exit code 78). */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`invalid configuration: ${variable}: ${detail}`);
  }
}

/** The trimmed contents of a secret file (a mounted Secret); ConfigError when it is missing or empty. */
export function readSecretFile(variable: string, path: string): string {
  try {
    const value = readFileSync(path, 'utf8').trim();
    if (!value) throw new ConfigError(variable, `file ${path} is empty`);
    return value;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(variable, `cannot read ${path}: ${(error as Error).message}`);
  }
}

/**
 * `NAME_FILE` for each of `names`: NAME read from that file (a mounted Secret), so a credential such as a
 * connection URL never sits in a pod spec's environment. Setting both NAME and NAME_FILE is a ConfigError.
 */
export function withSecretFiles(env: NodeJS.ProcessEnv, names: readonly string[]): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of names) {
    const file = env[`${name}_FILE`];
    if (!file) continue;
    if (env[name]) throw new ConfigError(`${name}_FILE`, `set either ${name} or ${name}_FILE`);
    out[name] = readSecretFile(`${name}_FILE`, file);
  }
  return out;
}

/**
 * Validates the environment against a schema (empty variables count as unset); throws ConfigError
 * naming the first bad variable.
 */
export function parseEnvironment<S extends z.ZodType>(variables: S, env: NodeJS.ProcessEnv): z.output<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = variables.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(String(issue.path[0] ?? 'environment'), issue.message);
  }
  return parsed.data;
}
