/**
 * CLI: `netplumb ns ls|create|rm` — network namespaces, like `lsns -t net` and `ip netns`.
 * @module
 */
import { readFileSync } from 'node:fs';
import { NETNS_RUN_DIR, Netns, nsidOf } from '../index.js';
import { type Command, type CommandGroup, json, table } from './command.js';
import { EXIT } from './exit-codes.js';

/** A row of `netplumb ns ls --json`, shaped like `lsns -J -t net`'s (plus every name and pid). */
export interface NsRow {
  ns: number;
  type: 'net';
  nprocs: number;
  /** Lowest pid in it (null when no process is). */
  pid: number | null;
  /** That process's command name. */
  command: string | null;
  /** The nsid this namespace has as seen from the caller's ("unassigned" when none). */
  netnsid: number | 'unassigned';
  /** First /run/netns path of it (null when not named). */
  nsfs: string | null;
  names: string[];
  pids: number[];
}

function comm(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null; // exited meanwhile
  }
}

/** Every network namespace with its names, processes and nsid, read from /proc, /run/netns and the kernel. */
export async function listNamespaces(): Promise<NsRow[]> {
  const self = await Netns.current();
  try {
    const rows: NsRow[] = [];
    for (const i of await Netns.list()) {
      const pids = [...i.pids].sort((a, b) => a - b);
      const pid = pids[0] ?? null;
      let netnsid: number | undefined;
      try {
        if (pid !== null) netnsid = await nsidOf(self, { pid });
        else if (i.names[0] !== undefined) {
          const ns = await Netns.open(i.names[0]);
          try {
            netnsid = await nsidOf(self, ns);
          } finally {
            ns.close();
          }
        }
      } catch {
        // Gone meanwhile: no nsid to tell.
      }
      rows.push({
        ns: i.inode,
        type: 'net',
        nprocs: pids.length,
        pid,
        command: pid === null ? null : comm(pid),
        netnsid: netnsid ?? 'unassigned',
        nsfs: i.names[0] !== undefined ? `${NETNS_RUN_DIR}/${i.names[0]}` : null,
        names: i.names,
        pids,
      });
    }
    return rows;
  } finally {
    self.close();
  }
}

const ls: Command = {
  name: 'ns ls',
  summary: 'List every network namespace: named ones and those of running processes (like `lsns -t net`)',
  usage: '[OPTIONS]',
  options: {},
  args: [0, 0],
  async run(inv) {
    const rows = await listNamespaces();
    if (inv.json) inv.out(json({ namespaces: rows }));
    else {
      inv.out(table(
        ['NS', 'NPROCS', 'PID', 'NETNSID', 'COMMAND', 'NAMES'],
        rows.map((r) => [String(r.ns), String(r.nprocs), r.pid === null ? '-' : String(r.pid), String(r.netnsid), r.command ?? '-', r.names.join(',') || '-']),
      ));
    }
    return EXIT.OK;
  },
};

const create: Command = {
  name: 'ns create',
  summary: 'Create a named network namespace with its loopback up (like `ip netns add NAME`)',
  usage: 'NAME...',
  options: {},
  args: [1, Infinity],
  async run(inv) {
    const made: Array<{ name: string; path: string; inode: number }> = [];
    for (const name of inv.args) {
      const ns = await Netns.create(name);
      try {
        // A fresh namespace's loopback is down; every container runtime brings it up.
        await ns.links.set('lo', { up: true });
        made.push({ name, path: ns.path as string, inode: ns.inode });
      } finally {
        ns.close();
      }
      if (!inv.json) inv.out(`${name}\n`);
    }
    if (inv.json) inv.out(json(made));
    return EXIT.OK;
  },
};

const rm: Command = {
  name: 'ns rm',
  summary: 'Remove named network namespaces (like `ip netns del NAME`)',
  usage: 'NAME...',
  details: 'The kernel destroys a namespace, and its interfaces, once no process is left in it.',
  options: {},
  args: [1, Infinity],
  async run(inv) {
    for (const name of inv.args) {
      const ns = await Netns.open(name);
      await ns.delete();
      if (!inv.json) inv.out(`${name}\n`);
    }
    if (inv.json) inv.out(json(inv.args));
    return EXIT.OK;
  },
};

/** `netplumb ns`. */
export const nsGroup: CommandGroup = { name: 'ns', summary: 'Manage network namespaces', commands: [ls, create, rm] };
