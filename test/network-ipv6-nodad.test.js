// Issue 14, "IPv6 works when connect() resolves": a container's IPv6 address is added
// with IFA_F_NODAD, as libnetwork does, so it is usable the moment connect() resolves —
// not tentative while duplicate address detection runs (which made the first IPv6
// connection through a published port time out). Checked with `ip -j addr` and with
// the first connections, made at once, in both directions.
import { HOST_ADDR6, OUTSIDE_ADDR6, lab, request } from './network-lab.js';
import { ipJson, ptest, sh } from './helpers.js';

/** The namespace's TCP segments retransmitted so far (/proc/net/snmp, `Tcp: RetransSegs`). */
function retransmitted(ns) {
  const lines = sh('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Tcp:'));
  const [names, values] = lines.map((l) => l.split(/\s+/));
  return Number(values[names.indexOf('RetransSegs')]);
}

ptest('a container IPv6 address is nodad, never tentative, and the first IPv6 connections right after connect() work', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'nodad', subnet: '172.27.0.0/24', subnet6: 'fd00:27::/64' });
  const outsideServer = await l.outside.listen({ port: 7000, family: 6, host: '::' }, (s) => s.end(`${s.remoteAddress}\n`));
  t.teardown(() => outsideServer.close());
  const c = await l.container();
  const ep = await net.connect(c, { publish: [{ hostPort: 82, containerPort: 80 }] });
  // No waiting from here on: each step is the first thing a user would do.
  const global = ipJson(c.name, 'addr', 'show', 'dev', 'eth0')[0].addr_info.filter((a) => a.family === 'inet6' && a.scope === 'global');
  t.deepEqual(global.map((a) => a.local), [ep.ipv6]);
  t.true(global[0].nodad === true, JSON.stringify(global[0]));
  t.not(global[0].tentative, true);
  const server = await c.listen({ port: 80, family: 6, host: '::' }, (s) => s.end(`${s.remoteAddress}\n`));
  t.teardown(() => server.close());
  // The bridge's own link-local address is usable too: the host's neighbour solicitations
  // to the new container come from it, and an answer to a tentative address is dropped.
  t.false(ipJson(l.hostName, 'addr', 'show', 'dev', net.bridge)[0].addr_info.some((a) => a.tentative === true));
  // In through the published port over IPv6, the container answering from its new address,
  // with no SYN sent twice (before the fix, the first SYN's neighbour resolution failed).
  const before = retransmitted(l.outName);
  t.is(await request(l.outside, HOST_ADDR6, 82), OUTSIDE_ADDR6);
  t.is(retransmitted(l.outName) - before, 0, 'the first IPv6 connection needed no retransmission');
  // Out from the new address (masqueraded to the host's uplink address).
  t.is(await request(c, OUTSIDE_ADDR6, 7000), HOST_ADDR6);
});
