// The untimed part of the workload for the floor, shell and low-level runs: one bridge
// network as Docker's default bridge has it (bridge with the gateway address, IP
// forwarding, MASQUERADE for traffic leaving the subnet, DNAT of published ports), made
// with the ordinary tools. Published ports are elements of one map, so the per-endpoint
// work is one element, whatever the number of endpoints.
import { execFileSync } from 'node:child_process';
import { FIXTURE } from './endpoints.js';
import { sysctlSet } from './system.js';

const { bridge, gateway, prefixLength, subnet, table, map } = FIXTURE;

const RULESET = `
table inet ${table} {
  map ${map} {
    type inet_proto . inet_service : ipv4_addr . inet_service
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local dnat ip to meta l4proto . th dport map @${map}
  }
  chain output {
    type nat hook output priority -100; policy accept;
    fib daddr type local dnat ip to meta l4proto . th dport map @${map}
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr ${subnet} oifname != "${bridge}" masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    oifname "${bridge}" ct state established,related accept
  }
}
`;

function run(cmd, args, input) {
  execFileSync(cmd, args, { input, stdio: ['pipe', 'ignore', 'inherit'] });
}

/** Creates the bridge network in the (sandbox) current namespace. */
export function createFixture() {
  run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  run('ip', ['addr', 'add', `${gateway}/${prefixLength}`, 'dev', bridge]);
  run('ip', ['link', 'set', bridge, 'up']);
  run('nft', ['-f', '-'], RULESET);
  sysctlSet('net.ipv4.ip_forward', 1);
}

/** Removes it again. */
export function removeFixture() {
  try {
    run('nft', ['delete', 'table', 'inet', table]);
  } catch {}
  try {
    run('ip', ['link', 'del', bridge]);
  } catch {}
}
