/**
 * CNI plugin: the runtime's environment variables (CNI_COMMAND, CNI_CONTAINERID,
 * CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH), checked per verb as the spec requires.
 * Anything missing or malformed is the spec's code 4.
 * @module
 */
import { CNI_ERR, CniError } from './errors.js';
import type { CniCommand } from './version.js';

/** The environment of one plugin call. */
export interface CniEnv {
  command: CniCommand;
  /** CNI_CONTAINERID. */
  containerId?: string;
  /** CNI_NETNS: path of the container's network namespace. */
  netns?: string;
  /** CNI_IFNAME: interface name inside the container. */
  ifname?: string;
  /** CNI_ARGS as key/value pairs. */
  args: Record<string, string>;
  /** CNI_PATH split on `:`. */
  path: string[];
}

const COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'];

/** Which variables each verb needs (the spec's "Parameters" section). */
const REQUIRED: Record<CniCommand, ReadonlyArray<'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME' | 'CNI_PATH'>> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  STATUS: [],
  GC: [],
  VERSION: [],
};

/** The spec: "must be alphanumeric, may contain underscore, dot or hyphen". */
const CONTAINER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function bad(msg: string): CniError {
  return new CniError(CNI_ERR.INVALID_ENVIRONMENT, msg);
}

/** Reads CNI_COMMAND alone (VERSION needs nothing else). */
export function parseCommand(env: NodeJS.ProcessEnv): CniCommand {
  const c = env.CNI_COMMAND;
  if (c === undefined || c === '') throw bad('CNI_COMMAND is not set');
  if (!(COMMANDS as readonly string[]).includes(c)) throw bad(`CNI_COMMAND ${JSON.stringify(c)} is not one of ${COMMANDS.join(', ')}`);
  return c as CniCommand;
}

/** Parses CNI_ARGS, `K=V;K2=V2`. */
export function parseArgs(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const pair of text.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw bad(`CNI_ARGS: ${JSON.stringify(pair)} is not KEY=VALUE`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** Checks an interface name the way the kernel does (dev_valid_name). */
function checkIfname(name: string): string {
  if (Buffer.byteLength(name) > 15 || name === '.' || name === '..' || /[/:\s]/.test(name)) {
    throw bad(`CNI_IFNAME ${JSON.stringify(name)} is not an interface name (at most 15 bytes, no '/', ':' or spaces)`);
  }
  return name;
}

/** The environment of the call, checked for `command`. */
export function parseEnv(env: NodeJS.ProcessEnv, command: CniCommand): CniEnv {
  for (const k of REQUIRED[command]) if (!env[k]) throw bad(`${k} is required for ${command}`);
  const out: CniEnv = { command, args: parseArgs(env.CNI_ARGS), path: (env.CNI_PATH ?? '').split(':').filter(Boolean) };
  if (env.CNI_CONTAINERID) {
    if (!CONTAINER_ID_RE.test(env.CNI_CONTAINERID) || env.CNI_CONTAINERID.length > 112) {
      throw bad(`CNI_CONTAINERID ${JSON.stringify(env.CNI_CONTAINERID)} is not a container id (letters, digits, _ . -; at most 112)`);
    }
    out.containerId = env.CNI_CONTAINERID;
  }
  if (env.CNI_NETNS) out.netns = env.CNI_NETNS;
  if (env.CNI_IFNAME) out.ifname = checkIfname(env.CNI_IFNAME);
  return out;
}

/** The endpoint owner label netplumb stores in the kernel for one CNI attachment. */
export function ownerOf(containerId: string, ifname: string): string {
  return `${containerId}/${ifname}`;
}
