// connect() resolves only once both ends of the veth pass traffic. eth0's "up" gives both
// ends carrier at once, but the bridge port starts forwarding and each end's queue starts
// transmitting only when the kernel's linkwatch work has run for that device — work that
// waits for rtnl_mutex behind whatever holds it (here: another process making and
// dropping namespaces with veths, as a busy host does). Until then the bridge drops what
// it would send to the endpoint and eth0 drops its ARP requests: the first connection
// stalls for a retransmission (1 s, 3 s), or fails.
//
// Read right after each connect() with `ip -j` link dumps from `ip -batch` processes that
// are already running (spawning one per read would give the kernel milliseconds to catch
// up; a targeted `ip link show dev X` would run the pending event itself and hide it).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ptest } from './helpers.js';
import { lab } from './network-lab.js';

/** A running `ip -n NS -j ... -batch -`: one command in, its JSON out. */
function ipBatch(t, ns, ...flags) {
  const child = spawn('stdbuf', ['-oL', 'ip', '-n', ns, '-j', ...flags, '-batch', '-'], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => child.kill());
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return async (command) => {
    child.stdin.write(`${command}\n`);
    const { value, done } = await lines.next();
    if (done) throw new Error(`ip -batch in ${ns} ended`);
    return JSON.parse(value);
  };
}

ptest('connect() resolves only when linkwatch has run for both veth ends, also while another process keeps rtnl busy', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'lw', subnet: '172.28.0.0/16' });
  const ROUNDS = 60;
  const containers = [];
  for (let i = 0; i < ROUNDS; i++) {
    const c = await l.container('lw');
    containers.push({ ns: c, show: ipBatch(t, c.name) });
  }
  const hostShow = ipBatch(t, l.hostName, '-d');
  // Namespaces with a veth pair each, made and dropped: the kernel destroys them with
  // rtnl_mutex held. Bounded, and ended by PID.
  const churn = spawn('bash', ['-c', 'for i in $(seq 1 2000); do unshare -n ip link add va type veth peer name vb || exit 1; done'], { stdio: 'ignore' });
  t.teardown(() => churn.exitCode === null && churn.kill());
  const late = [];
  for (const { ns, show } of containers) {
    const ep = await net.connect(ns);
    const [hostLinks, inside] = await Promise.all([hostShow('link show'), show('link show')]);
    const hostEnd = hostLinks.find((x) => x.ifname === ep.hostIfname);
    const eth0 = inside.find((x) => x.ifname === ep.ifname);
    const seen = `host end ${hostEnd?.operstate} ${hostEnd?.linkinfo?.info_slave_data?.state}, ${ep.ifname} ${eth0?.operstate}`;
    if (seen !== 'host end UP forwarding, eth0 UP') late.push(seen);
  }
  t.is(churn.exitCode, null, 'the churn ran all along');
  t.deepEqual(late, []);
});
