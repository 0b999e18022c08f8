/**
 * CLI: the `netplumb` command — Docker's vocabulary for networks, ports and endpoints,
 * plus namespaces, cleanup, a host check and pictures, all on netplumb's public API
 * (nothing is shelled out). Finds the command, parses its arguments, runs it and turns
 * its outcome into output and a stable exit code (see {@link EXIT}).
 * @module
 */
import { readFileSync } from 'node:fs';
import { cleanupCommand } from './cleanup.js';
import { type Command, type CommandGroup, UsageError, groupHelp, help, parse } from './command.js';
import { doctorCommand } from './doctor.js';
import { endpointGroup } from './endpoint.js';
import { EXIT, errorJson, errorLine, exitCode } from './exit-codes.js';
import { graphCommand } from './graph.js';
import { networkGroup } from './network.js';
import { nsGroup } from './ns.js';
import { portCommand } from './port.js';

export { EXIT } from './exit-codes.js';

const GROUPS: CommandGroup[] = [networkGroup, endpointGroup, nsGroup];
const COMMANDS: Command[] = [portCommand, cleanupCommand, doctorCommand, graphCommand];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function topHelp(): string {
  const rows: Array<[string, string]> = [
    ...GROUPS.map((g): [string, string] => [g.name, `${g.summary} (${g.commands.map((c) => c.name.split(' ')[1]).join('|')})`]),
    ...COMMANDS.map((c): [string, string] => [c.name, c.summary]),
  ];
  const width = Math.max(...rows.map(([n]) => n.length));
  return [
    'Usage: netplumb COMMAND [OPTIONS]',
    '',
    'Linux container networks over netlink, in Docker\'s vocabulary.',
    '',
    'Commands:',
    ...rows.map(([n, s]) => `  ${n.padEnd(width)}   ${s}`),
    '',
    'Global options: --json (machine-readable output), -h/--help, --version',
    '',
    'Exit codes: 0 ok, 1 the kernel or system refused, 2 usage, 3 invalid value,',
    '4 not found, 5 conflict (exists, in use, port taken), 6 permission (needs root),',
    '7 doctor found a problem.',
    '',
    "Run 'netplumb COMMAND --help' for more on a command.",
    '',
  ].join('\n');
}

/** Output streams, replaceable for embedding. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: Io = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

/** Finds the command `argv` names: returns it and the arguments after its name. */
function find(argv: string[]): { cmd?: Command; group?: CommandGroup; rest: string[] } {
  const [first, second, ...rest] = argv;
  const group = GROUPS.find((g) => g.name === first);
  if (group) {
    const cmd = group.commands.find((c) => c.name === `${group.name} ${second}`);
    if (cmd) return { cmd, rest };
    if (second === undefined || second === '--help' || second === '-h' || second === 'help') return { group, rest: [] };
    throw new UsageError(group.name, `unknown command ${JSON.stringify(second)}`);
  }
  const cmd = COMMANDS.find((c) => c.name === first);
  if (cmd) return { cmd, rest: argv.slice(1) };
  throw new UsageError('netplumb', `unknown command ${JSON.stringify(first)}`);
}

/** Runs `netplumb ARGV...`; resolves to the exit code (never rejects). */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const wantsJson = argv.includes('--json');
  try {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      io.out(topHelp());
      return argv.length === 0 ? EXIT.USAGE : EXIT.OK;
    }
    if (argv[0] === '--version' || argv[0] === 'version') {
      io.out(`${version()}\n`);
      return EXIT.OK;
    }
    const found = find(argv);
    if (found.group) {
      io.out(groupHelp(found.group));
      return EXIT.OK;
    }
    const cmd = found.cmd as Command;
    const p = parse(cmd, found.rest);
    if (p.help) {
      io.out(help(cmd));
      return EXIT.OK;
    }
    return await cmd.run({ args: p.args, options: p.options, json: p.json, out: io.out, err: io.err });
  } catch (e) {
    io.err(wantsJson ? `${JSON.stringify({ error: errorJson(e) })}\n` : `${errorLine(e)}\n`);
    return exitCode(e);
  }
}
