// The lab of the Docker walkthroughs, built per test inside the sandbox: a "host"
// namespace with an uplink veth to an "outside" namespace (TEST-NET-3 addresses), and
// helpers for real TCP/UDP traffic between namespaces.
import { BridgeNetwork, Netns } from '../dist/index.js';
import { ip, uniqueName } from './helpers.js';

export const HOST_ADDR = '203.0.113.128';
export const OUTSIDE_ADDR = '203.0.113.1';
export const HOST_ADDR6 = '2001:db8:1::128';
export const OUTSIDE_ADDR6 = '2001:db8:1::1';

/** A host namespace joined to an outside namespace; removed (with everything in it) at teardown. */
export async function lab(t) {
  const hostName = uniqueName('h');
  const outName = uniqueName('o');
  const host = await Netns.create(hostName);
  const outside = await Netns.create(outName);
  const networks = [];
  const namespaces = [];
  t.teardown(async () => {
    for (const n of networks) await n.remove({ force: true }).catch(() => {});
    for (const ns of namespaces) if (!ns.closed) await (ns.name ? ns.delete() : ns.close());
    await host.delete();
    await outside.delete();
  });
  ip(hostName, 'link', 'set', 'lo', 'up');
  ip(outName, 'link', 'set', 'lo', 'up');
  ip(hostName, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'wan', 'netns', outName);
  ip(hostName, 'addr', 'add', `${HOST_ADDR}/24`, 'dev', 'uplink');
  ip(outName, 'addr', 'add', `${OUTSIDE_ADDR}/24`, 'dev', 'wan');
  ip(hostName, 'addr', 'add', `${HOST_ADDR6}/64`, 'dev', 'uplink', 'nodad');
  ip(outName, 'addr', 'add', `${OUTSIDE_ADDR6}/64`, 'dev', 'wan', 'nodad');
  ip(hostName, 'link', 'set', 'uplink', 'up');
  ip(outName, 'link', 'set', 'wan', 'up');
  return {
    host,
    outside,
    hostName,
    outName,
    /** A network in the lab's host namespace, removed at teardown. */
    async network(options) {
      const n = await BridgeNetwork.create({ netns: host, ...options });
      networks.push(n);
      return n;
    },
    /** A named "container" namespace, deleted at teardown. */
    async container(prefix = 'c') {
      const ns = await Netns.create(uniqueName(prefix));
      namespaces.push(ns);
      return ns;
    },
  };
}

/**
 * A TCP server in `ns` on `port` that answers each connection with the address it sees
 * the client coming from, then closes.
 */
export async function whoamiServer(t, ns, port, host) {
  const server = await ns.listen({ port, ...(host ? { host } : {}) }, (s) => s.end(`${s.remoteAddress}\n`));
  t.teardown(() => server.close());
  return server;
}

/** Connects from `ns` to host:port and returns what the server said; rejects on refusal or after `timeout` ms. */
export async function request(ns, host, port, timeout = 3000) {
  const socket = await ns.connect(port, host, { timeout });
  return withTimeout(
    new Promise((resolve, reject) => {
      let acc = '';
      socket.on('data', (d) => (acc += d));
      socket.on('end', () => resolve(acc.trim()));
      socket.on('error', reject);
    }),
    timeout,
    `read ${host}:${port}`,
  ).finally(() => socket.destroy());
}

/** True when a connection from `ns` to host:port cannot be made within `timeout` ms. */
export async function unreachable(ns, host, port, timeout = 1200) {
  try {
    await request(ns, host, port, timeout);
    return false;
  } catch {
    return true;
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A UDP echo-of-source server in `ns`. */
export async function udpWhoami(t, ns, port) {
  const s = await ns.udpSocket({ port });
  s.on('message', (m, r) => s.send(`${r.address}`, r.port, r.address));
  t.teardown(() => s.close());
  return s;
}

/** Sends one datagram from `ns` to host:port and returns the reply, or rejects after `timeout`. */
export async function udpRequest(ns, host, port, timeout = 3000) {
  const s = await ns.udpSocket({ family: host.includes(':') ? 6 : 4 });
  try {
    return await withTimeout(
      new Promise((resolve) => {
        s.once('message', (m) => resolve(m.toString()));
        s.send('who', port, host);
      }),
      timeout,
      `udp ${host}:${port}`,
    );
  } finally {
    s.close();
  }
}
