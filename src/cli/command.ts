/**
 * CLI (on the public surface): what every command shares — its declaration (options,
 * help text), argument parsing with Node's own `util.parseArgs`, output as human tables or
 * JSON, and the usage error.
 * @module
 */
import { parseArgs } from 'node:util';
import { NetplumbError } from '../index.js';

/** A command line that cannot be run as written: unknown command or option, missing or extra argument. */
export class UsageError extends NetplumbError {
  /** The command whose usage was wrong (`network create`), or `netplumb`. */
  readonly command: string;

  constructor(command: string, message: string) {
    super(`${command}: ${message} (see \`netplumb ${command === 'netplumb' ? '' : `${command} `}--help\`)`, 'ERR_NETPLUMB_USAGE');
    this.command = command;
  }
}

/** One option of a command, as `util.parseArgs` takes it plus what `--help` shows. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Shown in `--help`. */
  description: string;
  /** Placeholder of the value in `--help`, e.g. `CIDR`. */
  value?: string;
}

/** Values of the parsed options. */
export type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** What a command's `run` gets. */
export interface Invocation {
  /** The positionals after the command's name. */
  args: string[];
  options: OptionValues;
  /** `--json`: print JSON instead of tables. */
  json: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
}

/** A leaf command (`network create`, `doctor`). */
export interface Command {
  /** Full name, e.g. `network create`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The usage line after `netplumb NAME`, e.g. `[OPTIONS] NETWORK`. */
  usage: string;
  /** Further text of `--help`. */
  details?: string;
  options: Record<string, OptionSpec>;
  /** Fewest and most positionals. */
  args: [min: number, max: number];
  /** Runs it; resolves to the exit code. */
  run(inv: Invocation): Promise<number>;
}

/** A group of commands (`network`, `ns`). */
export interface CommandGroup {
  name: string;
  summary: string;
  commands: Command[];
}

const GLOBAL: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print JSON (docker-compatible shapes) instead of a table' },
  help: { type: 'boolean', short: 'h', description: 'print this help' },
};

/** Parses `argv` (after the command's name) for `cmd`; throws UsageError. */
export function parse(cmd: Command, argv: string[]): { args: string[]; options: OptionValues; json: boolean; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...cmd.options, ...GLOBAL }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(cmd.name, e instanceof Error ? e.message.split('\n')[0] ?? e.message : String(e));
  }
  const { json, help, ...options } = parsed.values as OptionValues;
  const args = parsed.positionals;
  if (!help) {
    const [min, max] = cmd.args;
    if (args.length < min) throw new UsageError(cmd.name, `needs ${min === max ? min : `at least ${min}`} argument${min === 1 ? '' : 's'}: ${cmd.usage}`);
    if (args.length > max) throw new UsageError(cmd.name, `takes ${max === 0 ? 'no arguments' : `at most ${max} argument${max === 1 ? '' : 's'}`}, got ${JSON.stringify(args.slice(max))} too`);
  }
  return { args, options, json: json === true, help: help === true };
}

/** The `--help` text of a command. */
export function help(cmd: Command): string {
  const lines = [`Usage: netplumb ${cmd.name}${cmd.usage ? ` ${cmd.usage}` : ''}`, '', cmd.summary];
  if (cmd.details) lines.push('', cmd.details);
  lines.push('', 'Options:');
  const opts = Object.entries({ ...cmd.options, ...GLOBAL });
  const shown = opts.map(([name, o]) => `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`);
  const width = Math.max(...shown.map((s) => s.length));
  opts.forEach(([, o], i) => lines.push(`  ${(shown[i] as string).padEnd(width)}   ${o.description}${o.multiple ? ' (repeatable)' : ''}`));
  return `${lines.join('\n')}\n`;
}

/** The `--help` text of a group. */
export function groupHelp(g: CommandGroup): string {
  const width = Math.max(...g.commands.map((c) => c.name.length));
  return `Usage: netplumb ${g.name} COMMAND\n\n${g.summary}\n\nCommands:\n${g.commands.map((c) => `  ${c.name.padEnd(width)}   ${c.summary}`).join('\n')}\n\nRun 'netplumb ${g.name} COMMAND --help' for more on a command.\n`;
}

/** A table as docker prints them: upper-case headers, columns padded by three spaces. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join('   ').trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

/** JSON as the CLI prints it: indented, one trailing newline. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** A string option's value (the last one when given several times). */
export function str(o: OptionValues, name: string): string | undefined {
  const v = o[name];
  if (Array.isArray(v)) return v.length ? String(v[v.length - 1]) : undefined;
  return typeof v === 'string' ? v : undefined;
}

/** A repeatable string option's values. */
export function list(o: OptionValues, name: string): string[] {
  const v = o[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** A boolean option. */
export function flag(o: OptionValues, name: string): boolean {
  return o[name] === true;
}
