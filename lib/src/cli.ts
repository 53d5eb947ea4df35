/**
 * The command lines' shared behaviour: `--help` prints the usage and exits 0 without doing work; an unknown or
 * malformed flag prints one line naming it, then the usage, and exits 64 (EX_USAGE), never a stack trace.
 * Commands parse inside `runMain` and import their heavy modules only after parsing, so both answers are quick.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const EX_USAGE = 64;

/** A flag or argument the user got wrong: exit 64 with the usage. */
export class UsageError extends Error {}

/** `--help` was asked for: runMain prints the usage and exits 0. */
export class HelpRequested extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandLine<O extends Options> {
  /** `npm run drill`: how the usage names the command. */
  name: string;
  /** The lines after `usage:`, flags with their defaults. */
  usage: string;
  options: O;
  allowPositionals?: boolean;
}

export function usageText(command: CommandLine<Options>): string {
  return `usage: ${command.name} ${command.usage.trim()}\n`;
}

type WithHelp<O extends Options> = O & { help: { type: 'boolean'; short: 'h' } };
type Config<O extends Options> = {
  args: string[];
  options: WithHelp<O>;
  strict: true;
  allowPositionals: true;
};

/** Parses argv; throws HelpRequested on --help and UsageError on an unknown or malformed flag. */
export function parseCommandLine<O extends Options>(
  command: CommandLine<O>,
  argv: string[],
): ReturnType<typeof parseArgs<Config<O>>> {
  const options = { ...command.options, help: { type: 'boolean', short: 'h' } } as WithHelp<O>;
  // --help wins over anything else on the line, as users expect when they are lost.
  if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequested();
  let parsed: ReturnType<typeof parseArgs<Config<O>>>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (error) {
    // parseArgs' messages end with a hint to use `--` for positionals, which npm scripts make confusing.
    const line = (error as Error).message
      .split('\n')[0]!
      .replace(/\. To specify a positional argument.*$/, '');
    throw new UsageError(line);
  }
  if (!command.allowPositionals && parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
  }
  return parsed;
}

/** Prints what HelpRequested (the usage, exit 0) or UsageError (one line and the usage, exit 64) calls for. */
function exitIfUsage(command: CommandLine<Options>, error: unknown): void {
  if (error instanceof HelpRequested) {
    process.stdout.write(usageText(command));
    process.exit(0);
  }
  if (error instanceof UsageError) {
    process.stderr.write(`${command.name}: ${error.message}\n${usageText(command)}`);
    process.exit(EX_USAGE);
  }
}

/**
 * For a script whose work runs at its top level: parses argv and reads it (`read` may throw UsageError), or
 * prints the usage or the error and exits. Commands with a main function use runMain instead.
 */
export function parseOrExit<O extends Options, T = ReturnType<typeof parseArgs<Config<O>>>>(
  command: CommandLine<O>,
  argv: string[],
  read: (parsed: ReturnType<typeof parseArgs<Config<O>>>) => T = (parsed) => parsed as T,
): T {
  try {
    return read(parseCommandLine(command, argv));
  } catch (error) {
    exitIfUsage(command as CommandLine<Options>, error);
    throw error;
  }
}

/** A number from a flag, or a UsageError naming the flag. */
export function numberFlag(
  name: string,
  text: string,
  {
    integer = false,
    min = 0,
    exclusiveMin = true,
    max = Infinity,
  }: { integer?: boolean; min?: number; exclusiveMin?: boolean; max?: number } = {},
): number {
  const n = Number(text);
  const low = exclusiveMin ? n > min : n >= min;
  if (text.trim() === '' || !Number.isFinite(n) || !low || n > max || (integer && !Number.isInteger(n))) {
    const kind = integer ? 'an integer' : 'a number';
    const range = `${exclusiveMin ? 'above' : 'at least'} ${min}${max < Infinity ? ` and at most ${max}` : ''}`;
    throw new UsageError(`--${name} must be ${kind} ${range}, got "${text}"`);
  }
  return n;
}

/** One of `choices` from a flag, or a UsageError naming the flag. */
export function choiceFlag<C extends string>(name: string, text: string, choices: readonly C[]): C {
  if (!(choices as readonly string[]).includes(text))
    throw new UsageError(
      `--${name} must be ${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}, got "${text}"`,
    );
  return text as C;
}

/**
 * Runs a command's main: --help prints the usage and exits 0, a UsageError exits 64 with the usage, any other
 * error prints its message (no stack) and exits 1; otherwise exits with the returned code.
 */
export function runMain<O extends Options>(
  command: CommandLine<O>,
  main: () => Promise<number | void>,
): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (error: unknown) => {
      exitIfUsage(command as CommandLine<Options>, error);
      process.stderr.write(`${command.name}: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
