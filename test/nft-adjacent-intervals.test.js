// Adjacent intervals in an interval set (10.0.1.0/24 next to 10.0.2.0/24) share a key in
// the kernel: the end element of one and the start element of the next. Listing must pair
// each start with its own end whatever order the dump gives them. (Found by the CNI tests:
// networks with adjacent subnets made every ruleset listing fail.)
import { Netns } from '../dist/netns.js';
import { ptest, sh, uniqueName } from './helpers.js';

ptest('adjacent intervals list as the separate prefixes nft shows', async (t) => {
  const table = uniqueName('adj');
  sh('nft', ['add', 'table', 'inet', table]);
  t.teardown(() => sh('nft', ['delete', 'table', 'inet', table]));
  sh('nft', ['add', 'set', 'inet', table, 's', '{ type ipv4_addr ; flags interval ; }']);
  sh('nft', ['add', 'element', 'inet', table, 's', '{ 10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24, 10.0.5.0/24, 10.0.6.0-10.0.6.9 }']);
  const host = await Netns.current();
  t.teardown(() => host.close());
  const set = await host.nft.getSet('inet', table, 's', { elements: true });
  const shown = set.elements.map((e) => (e.keyEnd === undefined ? String(e.key) : `${e.key}-${e.keyEnd}`)).sort();
  t.deepEqual(shown, ['10.0.1.0/24', '10.0.2.0/24', '10.0.3.0/24', '10.0.5.0/24', '10.0.6.0-10.0.6.9']);
  const listed = await host.nft.list({ family: 'inet', table });
  t.is(listed.sets[0].elements.length, 5);
});
