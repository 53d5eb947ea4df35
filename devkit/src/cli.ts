/**
 * The command lines' shared behaviour: `--help` prints the usage and exits 0 without doing work; an unknown or
 * malformed flag prints one line naming it, then the usage, and exits 64 (EX_USAGE), never a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const EX_USAGE = 64;

/** A flag or argument the user got wrong: exit 64 with the usage. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandLine<O extends Options> {
  /** `npm run drill`: how the usage names the command. */
  name: string;
  /** The lines after `usage:`, flags with their defaults. */
  usage: string;
  options: O;
  allowPositionals?: boolean;
}

function usageText(command: CommandLine<Options>): string {
  return `usage: ${command.name} ${command.usage.trim()}\n`;
}

type WithHelp<O extends Options> = O & { help: { type: 'boolean'; short: 'h' } };
type Config<O extends Options> = {
  args: string[];
  options: WithHelp<O>;
  strict: true;
  allowPositionals: true;
};

/** Parses argv; on --help or a usage error prints what is due and exits. */
export function parseCommandLine<O extends Options>(
  command: CommandLine<O>,
  argv: string[],
): ReturnType<typeof parseArgs<Config<O>>> {
  const options = { ...command.options, help: { type: 'boolean', short: 'h' } } as WithHelp<O>;
  let parsed: ReturnType<typeof parseArgs<Config<O>>>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (error) {
    failUsage(command, (error as Error).message);
  }
  if (!command.allowPositionals && parsed.positionals.length > 0) {
    failUsage(command, `unexpected argument "${parsed.positionals[0]}"`);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(usageText(command));
    process.exit(0);
  }
  return parsed;
}

export function failUsage(command: CommandLine<Options>, message: string): never {
  // parseArgs' messages end with a hint to use `--` for positionals, which npm scripts make confusing.
  const line = message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '');
  process.stderr.write(`${command.name}: ${line}\n${usageText(command)}`);
  process.exit(EX_USAGE);
}

/** A number from a flag, or a UsageError naming the flag. */
export function numberFlag(
  name: string,
  text: string,
  {
    integer = false,
    min = 0,
    exclusiveMin = true,
  }: { integer?: boolean; min?: number; exclusiveMin?: boolean } = {},
): number {
  const n = Number(text);
  const low = exclusiveMin ? n > min : n >= min;
  if (text.trim() === '' || !Number.isFinite(n) || !low || (integer && !Number.isInteger(n))) {
    const kind = integer ? 'an integer' : 'a number';
    throw new UsageError(
      `--${name} must be ${kind} ${exclusiveMin ? 'above' : 'at least'} ${min}, got "${text}"`,
    );
  }
  return n;
}

/**
 * Runs a command's main: a UsageError exits 64 with the usage, any other error prints its message (no stack)
 * and exits 1; otherwise exits with the returned code.
 */
export function runMain<O extends Options>(
  command: CommandLine<O>,
  main: () => Promise<number | void>,
): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (error: unknown) => {
      if (error instanceof UsageError) failUsage(command as CommandLine<Options>, error.message);
      process.stderr.write(`${command.name}: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
