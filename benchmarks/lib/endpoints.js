// The endpoints a run creates: names, addresses, MACs and published ports, all inside
// the sandbox and in private ranges. Endpoint i of a run with prefix P has namespace P-i,
// host veth Pv<i>, address SUBNET.(i+2) (the gateway is .1) and host port PORT_BASE+i.

/** Bridge, subnet and nft objects the floor, shell and low-level runs share (made untimed). */
export const FIXTURE = {
  bridge: 'nbench0',
  gateway: '172.30.0.1',
  subnet: '172.30.0.0/16',
  prefixLength: 16,
  table: 'bench',
  map: 'ports',
  portBase: 20000,
  containerPort: 80,
};

/** One endpoint's identity. */
export function endpoint(prefix, i, octets = [172, 30]) {
  const host = i + 2;
  const ip = `${octets[0]}.${octets[1]}.${(host >> 8) & 0xff}.${host & 0xff}`;
  const mac = ['02', '42', ...[octets[0], octets[1], (host >> 8) & 0xff, host & 0xff].map((b) => b.toString(16).padStart(2, '0'))].join(':');
  return {
    i,
    ns: `${prefix}-${i}`,
    veth: `${prefix}v${i}`,
    ip,
    mac,
    hostPort: FIXTURE.portBase + i,
  };
}

/** Endpoints 0..n-1 of a run. */
export function endpoints(prefix, n, octets) {
  return Array.from({ length: n }, (_, i) => endpoint(prefix, i, octets));
}
