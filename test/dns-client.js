// A DNS client run by test/dns.test.js inside a container namespace (`ip netns exec`),
// with the container's /etc/resolv.conf bind-mounted over the host's: Node's own
// resolver (c-ares, dns.resolve*) and glibc's getaddrinfo (dns.lookup), as a program in
// a container uses them. argv[2]: JSON list of [op, arg]; prints a JSON list of
// { ok: result } or { code: error code }.
import { promises as dns } from 'node:dns';

const resolver = new dns.Resolver({ timeout: 3000, tries: 2 });
const ops = {
  resolve4: (n) => resolver.resolve4(n),
  resolve6: (n) => resolver.resolve6(n),
  reverse: (a) => resolver.reverse(a),
  lookup4: async (n) => (await dns.lookup(n, { family: 4, all: true })).map((x) => x.address),
  lookup6: async (n) => (await dns.lookup(n, { family: 6, all: true })).map((x) => x.address),
};
const out = [];
for (const [op, arg] of JSON.parse(process.argv[2])) {
  try {
    out.push({ ok: await ops[op](arg) });
  } catch (err) {
    out.push({ code: err.code });
  }
}
process.stdout.write(JSON.stringify(out));
