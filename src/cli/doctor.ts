/**
 * CLI: `netplumb doctor` — checks this host for what netplumb needs and for what gets in
 * its way, and says what it found and what to do: privileges, nftables, forwarding, a
 * foreign firewall dropping forwarded traffic, route_localnet exposure.
 * @module
 */
import { readFileSync, readdirSync } from 'node:fs';
import { BridgeNetwork, NetplumbError, Netns, type NftChain, type Ruleset, iptablesComment, nft } from '../index.js';
import { type Command, json } from './command.js';
import { EXIT } from './exit-codes.js';

/** How a check came out: `fail` stops netplumb from working, `warn` is worth a look. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One check of `netplumb doctor --json`. */
export interface Check {
  /** Stable id: `privileges`, `nftables`, `forwarding`, `foreign-firewall`, `legacy-iptables`, `route-localnet`. */
  id: string;
  status: CheckStatus;
  /** What was found. */
  found: string;
  /** What to do about it (absent when nothing). */
  advice?: string;
}

const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;

/** The effective capabilities of this process, from /proc/self/status. */
function effectiveCaps(): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

function privileges(): Check {
  const caps = effectiveCaps();
  const has = (c: number): boolean => (caps & (1n << BigInt(c))) !== 0n;
  const uid = process.getuid?.() ?? -1;
  const missing = [has(CAP_NET_ADMIN) ? '' : 'CAP_NET_ADMIN', has(CAP_SYS_ADMIN) ? '' : 'CAP_SYS_ADMIN'].filter(Boolean);
  if (missing.length === 0) return { id: 'privileges', status: 'ok', found: `uid ${uid}, with CAP_NET_ADMIN and CAP_SYS_ADMIN` };
  return {
    id: 'privileges',
    status: 'fail',
    found: `uid ${uid}, without ${missing.join(' and ')}: netplumb can read but change nothing (EPERM)`,
    advice: 'run as root (sudo netplumb ...), or give node CAP_NET_ADMIN and CAP_SYS_ADMIN (setcap cap_net_admin,cap_sys_admin+ep $(command -v node))',
  };
}

/** Commits, in one atomic batch, a table with a NAT chain and a masquerade rule, and its deletion: the kernel checks every piece and nothing stays. */
async function nftWritable(host: Netns): Promise<void> {
  const table = `netplumb_doctor_${process.pid}`;
  const tx = host.nft.transaction();
  tx.addTable({ family: 'inet', name: table });
  tx.addChain({ family: 'inet', table, name: 'post', type: 'nat', hook: 'postrouting', priority: 'srcnat' });
  tx.addRule({ family: 'inet', table, chain: 'post', expressions: [nft.meta.nfproto.eq('ipv4'), nft.masquerade()].flat() });
  tx.deleteTable({ family: 'inet', name: table });
  await tx.commit();
}

async function nftables(host: Netns, root: boolean): Promise<{ check: Check; ruleset?: Ruleset }> {
  let ruleset: Ruleset;
  try {
    ruleset = await host.nft.list();
  } catch (e) {
    const code = e instanceof NetplumbError ? e.code : 'unknown';
    return {
      check: {
        id: 'nftables',
        status: 'fail',
        found: `cannot read the ruleset: ${e instanceof Error ? e.message : String(e)}`,
        advice: code === 'EPERM' ? 'run as root' : 'load nf_tables (modprobe nf_tables) or use a kernel built with CONFIG_NF_TABLES',
      },
    };
  }
  if (root) {
    try {
      await nftWritable(host);
    } catch (e) {
      return {
        check: {
          id: 'nftables',
          status: 'fail',
          found: `the kernel refused a NAT chain with masquerade: ${e instanceof Error ? e.message : String(e)}`,
          advice: 'load the NAT modules (modprobe nft_chain_nat nft_masq nft_nat), or use a kernel with CONFIG_NFT_NAT and CONFIG_NFT_MASQ',
        },
        ruleset,
      };
    }
  }
  const ours = ruleset.tables.some((t) => t.family === 'inet' && t.name === 'netplumb');
  return {
    check: {
      id: 'nftables',
      status: 'ok',
      found: `nf_tables ${root ? 'accepts a NAT chain with masquerade' : 'readable'}; ${ruleset.tables.length} table(s)${ours ? ', netplumb\'s among them' : ''}`,
    },
    ruleset,
  };
}

async function forwarding(host: Netns): Promise<Check> {
  const v4 = (await host.sysctl.get('net.ipv4.ip_forward')).trim();
  const v6 = (await host.sysctl.get('net.ipv6.conf.all.forwarding').catch(() => 'unavailable')).trim();
  const found = `net.ipv4.ip_forward=${v4}, net.ipv6.conf.all.forwarding=${v6}`;
  if (v4 === '1') return { id: 'forwarding', status: 'ok', found };
  return {
    id: 'forwarding',
    status: 'ok',
    found: `${found}: off now`,
    advice: 'nothing to do: netplumb turns IPv4 forwarding on when it creates a network (as Docker does); know that the host then routes between all its interfaces',
  };
}

/**
 * Base chains at hook forward with policy drop in tables that are not netplumb's: they drop
 * forwarded traffic that they do not accept. netplumb puts accepts for each of its bridges
 * at the head of such a chain (or of Docker's DOCKER-USER) when it creates a network; a
 * network made before the policy was set has none.
 */
function foreignFirewall(ruleset: Ruleset, networks: Array<{ name: string; bridge: string }>): Check {
  const dropping = ruleset.chains.filter((c: NftChain) => c.hook === 'forward' && c.policy === 'drop' && !(c.family === 'inet' && c.table === 'netplumb'));
  if (dropping.length === 0) return { id: 'foreign-firewall', status: 'ok', found: 'no other table drops forwarded traffic by policy' };
  const names = dropping.map((c) => `${c.family} ${c.table} ${c.name}${c.table === 'filter' && c.name === 'FORWARD' ? ' (iptables-nft)' : ''}`);
  const missing: string[] = [];
  for (const c of dropping) {
    const acceptIn = ruleset.chains.some((x) => x.family === c.family && x.table === c.table && x.name === 'DOCKER-USER') ? 'DOCKER-USER' : c.name;
    for (const n of networks) {
      // netplumb writes them as iptables-nft does, the comment in an xt comment match.
      const has = ruleset.rules.some((r) => r.family === c.family && r.table === c.table && r.chain === acceptIn && (r.comment ?? iptablesComment(r))?.split(' ').slice(0, 2).join(' ') === `netplumb net=${n.name}`);
      if (!has) missing.push(`${n.name} (${n.bridge}) in ${c.family} ${c.table} ${acceptIn}`);
    }
  }
  const found = `forwarded traffic is dropped by the policy of ${names.join(', ')}`;
  if (missing.length) {
    return {
      id: 'foreign-firewall',
      status: 'warn',
      found: `${found}; no accept there for network ${missing.join(', ')}: its containers reach nothing through the host and its published ports do not answer`,
      advice: 'the policy was set after the network was created: recreate the network (netplumb then adds its accepts), or accept its bridge yourself (iptables -I FORWARD -i BRIDGE -j ACCEPT; iptables -I FORWARD -o BRIDGE -j ACCEPT)',
    };
  }
  return {
    id: 'foreign-firewall',
    status: 'warn',
    found: `${found}; ${networks.length ? `netplumb's accepts for ${networks.map((n) => n.bridge).join(', ')} are in place` : 'no netplumb network yet'}`,
    advice:
      'nothing to do for netplumb: it adds accepts for each of its bridges at the head of that chain (or of DOCKER-USER) and removes them with the network, and never changes the policy; ' +
      'other forwarded traffic (other bridges, VMs) stays dropped (`iptables -P FORWARD ACCEPT` would open it for all)',
  };
}

/** Tables of the legacy iptables (x_tables), whose rules nf_tables cannot show. */
function legacyIptables(): Check | undefined {
  const tables: string[] = [];
  for (const f of ['/proc/net/ip_tables_names', '/proc/net/ip6_tables_names']) {
    try {
      tables.push(...readFileSync(f, 'utf8').split('\n').filter(Boolean).map((t) => `${f.includes('ip6') ? 'ip6' : 'ip'} ${t}`));
    } catch {
      // Module not loaded: no legacy tables.
    }
  }
  if (tables.length === 0) return undefined;
  return {
    id: 'legacy-iptables',
    status: 'warn',
    found: `legacy iptables tables are loaded (${tables.join(', ')}); their rules do not show in nftables`,
    advice: 'check `iptables-legacy -S FORWARD`: a DROP policy or rule there drops netplumb\'s forwarded traffic too',
  };
}

/** Interfaces (and `all`) with route_localnet on: packets to 127.0.0.0/8 arriving there are routed to the host's loopback. */
async function routeLocalnet(host: Netns): Promise<Check> {
  let names: string[] = [];
  try {
    names = readdirSync('/proc/sys/net/ipv4/conf');
  } catch {
    names = ['all'];
  }
  const links = await host.links.list();
  const bridges = new Set(links.filter((l) => l.kind === 'bridge' && l.alias?.startsWith('netplumb:') === true).map((l) => l.name));
  const on: string[] = [];
  for (const n of names) {
    if (n === 'default' || n === 'lo') continue;
    const v = await host.sysctl.get(`net/ipv4/conf/${n}/route_localnet`).catch(() => '0');
    if (v.trim() === '1') on.push(n);
  }
  if (on.length === 0) return { id: 'route-localnet', status: 'ok', found: 'route_localnet is off everywhere' };
  const foreign = on.filter((n) => !bridges.has(n));
  const ours = on.filter((n) => bridges.has(n));
  if (foreign.length === 0) {
    return {
      id: 'route-localnet',
      status: 'ok',
      found: `route_localnet is on only on netplumb's bridges (${ours.join(', ')}), so that 127.0.0.1:PORT reaches published ports`,
    };
  }
  return {
    id: 'route-localnet',
    status: 'warn',
    found: `route_localnet is on for ${foreign.join(', ')}${ours.length ? ` (and on netplumb's bridges ${ours.join(', ')})` : ''}: packets to 127.0.0.0/8 arriving there may reach services listening only on the host's loopback`,
    advice: `turn it off where nothing needs it (sysctl -w net.ipv4.conf.${foreign[0]}.route_localnet=0), or drop packets to 127.0.0.0/8 from non-loopback interfaces that were not DNATed (nft: iifname != "lo" ip daddr 127.0.0.0/8 ct status != dnat drop)`,
  };
}

/** Runs every check against the caller's namespace. */
export async function diagnose(): Promise<Check[]> {
  const checks: Check[] = [privileges()];
  const root = checks[0]?.status === 'ok';
  const host = await Netns.current();
  try {
    const { check, ruleset } = await nftables(host, root);
    checks.push(check, await forwarding(host));
    if (ruleset) checks.push(foreignFirewall(ruleset, await BridgeNetwork.list({ netns: host })));
    const legacy = legacyIptables();
    if (legacy) checks.push(legacy);
    checks.push(await routeLocalnet(host));
  } finally {
    host.close();
  }
  return checks;
}

const MARK: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };

/** `netplumb doctor`. */
export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'Check this host for what netplumb needs and what gets in its way, and say what to do',
  usage: '[OPTIONS]',
  details: `Checks: privileges (root or CAP_NET_ADMIN+CAP_SYS_ADMIN), nftables (readable, and a NAT chain with
masquerade accepted), forwarding, a foreign firewall whose forward chain drops by policy (e.g.
iptables-nft after \`iptables -P FORWARD DROP\`), legacy iptables tables, route_localnet exposure.
Exits 0 when nothing fails (warnings included), 7 when a check fails.`,
  options: {},
  args: [0, 0],
  async run(inv) {
    const checks = await diagnose();
    const failed = checks.some((c) => c.status === 'fail');
    if (inv.json) inv.out(json({ ok: !failed, checks }));
    else {
      for (const c of checks) {
        inv.out(`[${MARK[c.status]}] ${c.id}: ${c.found}\n`);
        if (c.advice) inv.out(`       -> ${c.advice}\n`);
      }
      inv.out(failed ? 'netplumb cannot work on this host until the failures above are fixed.\n' : 'netplumb can work on this host.\n');
    }
    return failed ? EXIT.PROBLEMS : EXIT.OK;
  },
};
