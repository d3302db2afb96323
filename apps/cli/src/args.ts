import { UsageError } from './cli-errors';

export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string>;
}

/**
 * Splits `args` into positionals and `--name value` / `--name=value` options. Only the names in
 * `valued` are accepted; anything else starting with `--` is a usage error.
 */
export function parseArgs(command: string, args: readonly string[], valued: readonly string[] = []): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    if (!valued.includes(name)) throw new UsageError(`${command}: unknown option --${name}`);
    const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined || value === '') throw new UsageError(`${command}: --${name} needs a value`);
    if (options.has(name)) throw new UsageError(`${command}: --${name} given twice`);
    options.set(name, value);
  }
  return { positionals, options };
}

/** A positive number of seconds from `--name`, or `fallback` when absent. */
export function secondsOption(command: string, parsed: ParsedArgs, name: string, fallback: number): number {
  const raw = parsed.options.get(name);
  if (raw === undefined) return fallback;
  if (!/^\d+(\.\d+)?$/.test(raw) || Number(raw) <= 0) throw new UsageError(`${command}: --${name} must be a positive number of seconds`);
  return Number(raw);
}
