/**
 * CLI: `netplumb endpoint ls` — every namespace attached to a network, read from the kernel.
 * @module
 */
import { type Command, type CommandGroup, json, list, str, table } from './command.js';
import { EXIT } from './exit-codes.js';
import { endpointNetns, openAll, openNetns, portText } from './format.js';

const ls: Command = {
  name: 'endpoint ls',
  summary: 'List endpoints: namespaces attached to networks, with addresses and published ports',
  usage: '[OPTIONS]',
  options: {
    network: { type: 'string', multiple: true, value: 'NETWORK', description: 'only endpoints of this network' },
    netns: { type: 'string', value: 'NETNS', description: 'only endpoints in this namespace (/run/netns name or path)' },
    owner: { type: 'string', value: 'LABEL', description: 'only endpoints with this owner label' },
  },
  args: [0, 0],
  async run(inv) {
    const owner = str(inv.options, 'owner');
    const nsArg = str(inv.options, 'netns');
    const ns = nsArg === undefined ? undefined : await openNetns(nsArg);
    try {
      const rows = [];
      // A namespace that does not exist has no endpoints.
      if (nsArg === undefined || ns !== undefined) {
        for (const net of await openAll(list(inv.options, 'network'))) {
          for (const ep of await net.endpoints({ ...(owner !== undefined ? { owner } : {}), ...(ns ? { netns: ns } : {}) })) rows.push({ net, ep });
        }
      }
      if (inv.json) inv.out(json(rows.map(({ ep }) => ({ ...ep.inspect(), ...(ep.owner !== undefined ? { owner: ep.owner } : {}) }))));
      else {
        inv.out(table(
          ['ENDPOINT', 'NETWORK', 'NAMESPACE', 'IFNAME', 'HOST-IF', 'IPV4', 'MAC', 'PORTS', 'OWNER'],
          rows.map(({ net, ep }) => [ep.id, net.name, endpointNetns(ep), ep.ifname, ep.hostIfname, ep.ipv4 ? `${ep.ipv4}/${ep.prefixLength}` : '', ep.mac, ep.ports.map(portText).join(', '), ep.owner ?? '']),
        ));
      }
    } finally {
      ns?.close();
    }
    return EXIT.OK;
  },
};

/** `netplumb endpoint`. */
export const endpointGroup: CommandGroup = { name: 'endpoint', summary: 'Inspect endpoints', commands: [ls] };
