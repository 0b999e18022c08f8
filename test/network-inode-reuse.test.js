// The kernel gives a freed namespace's inode number to the next namespace made. A remove
// under way releases its endpoint's reservation only after the endpoint's veth is gone
// (~20 ms), so for that moment a new namespace can meet an attachment that names its own
// inode but belongs to a namespace gone before it. connect() must wait for it, not call
// the new namespace "already connected". Here the other endpoint's reservation is made
// for the new namespace's inode with netplumb's own writer, held by this (live) process
// and never given a veth, and released 150 ms later, as that remove would.
import { BridgeNetwork } from '../dist/index.js';
import { currentHolder } from '../dist/network/holder.js';
import { releaseEndpoint, reserveEndpoint } from '../dist/network/reservation.js';
import { ipJson, ptest } from './helpers.js';
import { lab } from './network-lab.js';

ptest('connect() waits out an attachment of its inode held for a namespace gone before it, and then connects', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'reuse', subnet: '10.93.0.0/24' });
  const ns = await l.container();
  const gone = { network: net.name, bridge: net.bridge, id: '0123456789ab', ifname: 'eth0', inode: ns.inode, ipv4: '10.93.0.200', mac: '02:42:0a:5d:00:c8', ports: [] };
  const tx = l.host.nft.transaction();
  reserveEndpoint(tx, gone, currentHolder());
  await tx.commit();
  t.true(ipJson(l.hostName, 'link').every((x) => !x.ifname.startsWith('veth')), 'the other endpoint has no veth');

  const released = new Promise((resolve) => setTimeout(resolve, 150)).then(async () => {
    const rel = l.host.nft.transaction();
    releaseEndpoint(rel, gone);
    await rel.commit();
    return performance.now();
  });
  const start = performance.now();
  const ep = await net.connect(ns, {});
  const at = performance.now();
  t.true(at >= (await released), 'it connected once the other attachment was released');
  t.true(at - start < 2000);
  t.is(ep.netnsInode, ns.inode);
  const [eth0] = ipJson(ns.name, 'addr', 'show', 'eth0');
  t.deepEqual(eth0.addr_info.filter((a) => a.family === 'inet').map((a) => a.local), [ep.ipv4]);

  // A namespace really on the network is still refused, at once.
  const t0 = performance.now();
  await t.throwsAsync(net.connect(ns, {}), { code: 'ERR_NETPLUMB_ALREADY_CONNECTED' });
  t.true(performance.now() - t0 < 200, 'no waiting when the veth\'s peer is in the namespace');
  await ep.remove();
});
