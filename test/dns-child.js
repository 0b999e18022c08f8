// An embedding process for test/dns.test.js: serves one static name in the namespace
// named argv[2] on network argv[3], says "ready" with its attachment, then waits to be
// killed.
import { DnsResolver, Netns } from '../dist/index.js';

const ns = await Netns.open(process.argv[2]);
const records = { lookup: (network, name, type) => (name === 'alive' ? (type === 'A' ? ['192.0.2.1'] : []) : undefined) };
const resolver = new DnsResolver({ records, resolvConf: '/dev/null' });
const attachment = await resolver.attach(ns, process.argv[3]);
process.stdout.write(`${JSON.stringify(attachment)}\n`);
setInterval(() => {}, 1 << 30);
