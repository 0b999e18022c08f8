/**
 * DNS: forwarding a question the networks cannot answer to the host's nameservers, from
 * the namespace acting as the host (where the host's resolv.conf means something: a
 * loopback resolver such as 127.0.0.53 is reachable there, not in a container). The
 * query's bytes go out unchanged and the first answer comes back unchanged, so the
 * client sees the upstream's answer, id and all.
 * @module
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import type { Netns } from '../netns.js';
import { readResolvConf } from './resolv-conf.js';
import { MessageReader, frame } from './stream.js';

/** The port nameservers listen on. */
const NAMESERVER_PORT = 53;
/** glibc's limit: further nameserver lines are ignored. */
const MAXNS = 3;

/** Where and how questions are forwarded. */
export interface UpstreamOptions {
  /** resolv.conf naming the nameservers, read for every forwarded question. */
  resolvConf: string;
  /** How long each nameserver has to answer, in ms. */
  timeout: number;
  /** Namespace the forwarding sockets live in; undefined: the caller's own. */
  netns: Netns | undefined;
}

/**
 * The first answer of the nameservers to `query` (tried in order, each for
 * `o.timeout` ms), or undefined when none answered or the resolv.conf cannot be read.
 * With no nameserver line, 127.0.0.1 is asked, as glibc does.
 */
export async function forward(query: Buffer, transport: 'udp' | 'tcp', o: UpstreamOptions): Promise<Buffer | undefined> {
  let servers: string[];
  try {
    servers = (await readResolvConf(o.resolvConf)).nameservers.slice(0, MAXNS);
  } catch {
    return undefined;
  }
  if (servers.length === 0) servers = ['127.0.0.1'];
  for (const server of servers) {
    try {
      const reply = transport === 'udp' ? await askUdp(query, server, o) : await askTcp(query, server, o);
      if (reply) return reply;
    } catch {
      // Refused, unreachable or not ours to use: the next nameserver.
    }
  }
  return undefined;
}

async function udpSocket(family: 4 | 6, o: UpstreamOptions): Promise<dgram.Socket> {
  if (o.netns) return o.netns.udpSocket({ family });
  return dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
}

/** One question over UDP: a connected socket, so an ICMP error fails it at once. */
async function askUdp(query: Buffer, server: string, o: UpstreamOptions): Promise<Buffer | undefined> {
  const socket = await udpSocket(net.isIPv6(server) ? 6 : 4, o);
  const id = query.readUInt16BE(0);
  return new Promise((resolve) => {
    let finished = false;
    const done = (reply: Buffer | undefined): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.removeAllListeners('message');
      socket.on('error', () => {});
      try {
        socket.close();
      } catch {
        // Closed already: Netns.udpSocket closes its socket on an error event.
      }
      resolve(reply);
    };
    const timer = setTimeout(() => done(undefined), o.timeout);
    socket.on('error', () => done(undefined));
    // A reply to someone else's id (a late answer to a former use of the port) is not ours.
    socket.on('message', (msg) => {
      if (msg.length >= 12 && msg.readUInt16BE(0) === id && (msg[2] as number) & 0x80) done(msg);
    });
    socket.connect(NAMESERVER_PORT, server, () => socket.send(query, (err) => err && done(undefined)));
  });
}

/** One question over TCP: connect, send it framed, read one framed answer. */
async function askTcp(query: Buffer, server: string, o: UpstreamOptions): Promise<Buffer | undefined> {
  const socket = o.netns
    ? await o.netns.connect(NAMESERVER_PORT, server, { timeout: o.timeout })
    : await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ port: NAMESERVER_PORT, host: server, timeout: o.timeout });
        s.once('connect', () => resolve(s));
        s.once('timeout', () => reject(new Error('timeout')));
        s.once('error', reject);
      });
  return new Promise((resolve) => {
    const reader = new MessageReader();
    let finished = false;
    const done = (reply: Buffer | undefined): void => {
      if (finished) return;
      finished = true;
      socket.removeAllListeners('data');
      socket.on('error', () => {});
      socket.destroy();
      resolve(reply);
    };
    socket.setTimeout(o.timeout, () => done(undefined));
    socket.on('error', () => done(undefined));
    socket.on('end', () => done(undefined));
    socket.on('data', (chunk: Buffer) => {
      const msg = reader.push(chunk)[0];
      if (msg) done(msg);
    });
    socket.write(frame(query));
  });
}
