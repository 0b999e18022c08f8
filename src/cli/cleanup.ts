/**
 * CLI: `netplumb cleanup` — finds and removes what crashed processes left behind, by
 * netplumb's tags alone (see {@link cleanupNetworks}).
 * @module
 */
import { cleanupNetworks } from '../index.js';
import { type Command, flag, json, list, table } from './command.js';
import { EXIT } from './exit-codes.js';

/** `netplumb cleanup`. */
export const cleanupCommand: Command = {
  name: 'cleanup',
  summary: 'Remove leftovers of crashed netplumb operations (veths, half-made networks, rules, elements, namespaces)',
  usage: '[OPTIONS]',
  details: 'Touches only what carries netplumb\'s tag. With --dry-run it reports and changes nothing.',
  options: {
    'dry-run': { type: 'boolean', short: 'n', description: 'report what would be removed, remove nothing' },
    network: { type: 'string', multiple: true, value: 'NETWORK', description: 'only leftovers of this network' },
  },
  args: [0, 0],
  async run(inv) {
    const dryRun = flag(inv.options, 'dry-run');
    const networks = list(inv.options, 'network');
    const r = await cleanupNetworks({ dryRun, ...(networks.length ? { networks } : {}) });
    if (inv.json) {
      inv.out(json({ dryRun, ...r }));
      return EXIT.OK;
    }
    const rows: string[][] = [
      ...r.endpoints.map((e) => ['endpoint', `${e.hostIfname} (${e.network} ${e.id})`, e.reason]),
      ...r.networks.map((n) => ['network', `${n.name} (${n.bridge})`, 'incomplete']),
      ...r.rules.map((x) => ['rule', `${x.chain} handle ${x.handle}`, x.comment]),
      ...r.elements.map((x) => ['element', `${x.set} ${JSON.stringify(x.key)}`, x.comment]),
      ...r.netns.map((x) => ['netns', x.path, x.reason]),
      ...(r.table ? [['table', 'inet netplumb', 'no network left']] : []),
    ];
    if (rows.length === 0) inv.out('nothing to clean up\n');
    else {
      inv.out(`${dryRun ? 'Would remove' : 'Removed'}:\n`);
      inv.out(table(['KIND', 'WHAT', 'WHY'], rows));
    }
    return EXIT.OK;
  },
};
