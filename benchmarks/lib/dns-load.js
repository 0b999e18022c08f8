// Load generator of benchmarks/dns.js, run inside the container namespace (`ip netns
// exec`): sends `count` questions to 127.0.0.11:53 with `concurrency` in flight, over UDP
// (one socket, ids as keys) or TCP (one connection, pipelined), and prints per-question
// latencies (µs) and the wall time as JSON. A question unanswered after `timeoutMs`
// counts as lost, so the run always ends.
import * as dnsPacket from 'dns-packet';
import * as dgram from 'node:dgram';
import * as net from 'node:net';

const { transport, name, type, count, concurrency, timeoutMs } = JSON.parse(process.argv[2]);
const latencies = [];
const pending = new Map();
let sent = 0;
let lost = 0;
let rcodes = {};
let send;
let finish;
const done = new Promise((resolve) => (finish = resolve));

function query(id) {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
}

function next() {
  if (sent >= count) {
    if (pending.size === 0) finish();
    return;
  }
  const id = sent++ & 0xffff;
  const timer = setTimeout(() => {
    pending.delete(id);
    lost++;
    next();
  }, timeoutMs);
  pending.set(id, { start: process.hrtime.bigint(), timer });
  send(query(id));
}

function received(msg) {
  const id = msg.readUInt16BE(0);
  const p = pending.get(id);
  if (!p) return;
  clearTimeout(p.timer);
  pending.delete(id);
  latencies.push(Number(process.hrtime.bigint() - p.start) / 1000);
  const rcode = msg[3] & 0x0f;
  rcodes[rcode] = (rcodes[rcode] ?? 0) + 1;
  next();
}

let close;
if (transport === 'udp') {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.connect(53, '127.0.0.11', r));
  s.on('message', received);
  send = (q) => s.send(q);
  close = () => s.close();
} else {
  const s = net.connect(53, '127.0.0.11');
  await new Promise((r, j) => s.once('connect', r).once('error', j));
  let buf = Buffer.alloc(0);
  s.on('data', (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const len = buf.readUInt16BE(0);
      received(buf.subarray(2, 2 + len));
      buf = buf.subarray(2 + len);
    }
  });
  send = (q) => {
    const f = Buffer.alloc(2 + q.length);
    f.writeUInt16BE(q.length, 0);
    q.copy(f, 2);
    s.write(f);
  };
  close = () => s.destroy();
}

const t0 = process.hrtime.bigint();
for (let i = 0; i < Math.min(concurrency, count); i++) next();
await done;
const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
close();
process.stdout.write(JSON.stringify({ latencies, lost, wallUs, rcodes }));
