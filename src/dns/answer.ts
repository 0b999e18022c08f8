/**
 * DNS: the embedded resolver's answer to one query, as Docker's resolver gives it: A,
 * AAAA and PTR for the names of the networks the asking namespace is on; anything else
 * is for the upstream nameservers. Messages are read and written with dns-packet.
 * @module
 */
import * as dnsPacket from 'dns-packet';
import type { DnsRecordType, DnsRecordsSource } from './records.js';
import { addressOfReverseName } from './reverse.js';

/** Response codes (RFC 1035 4.1.1). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** The UDP size every client accepts (RFC 1035), and the most EDNS may raise it to here. */
const UDP_DEFAULT = 512;
const UDP_MAX = 4096;
const HEADER = 12;

/** What the resolver does with a query. */
export type Verdict =
  /** Send these bytes back. */
  | { reply: Buffer }
  /** Ask the upstream nameservers; send back their answer, or `fallback` (SERVFAIL) when none answers. */
  | { forward: true; fallback: Buffer }
  /** Not a query worth answering (too short to carry an id, or a response): drop it. */
  | { drop: true };

/** What answering needs. */
export interface AnswerContext {
  /** Networks of the asking namespace, in the order they were attached. */
  networks: readonly string[];
  records: DnsRecordsSource;
  /** TTL of the resolver's own records, in seconds. */
  ttl: number;
}

/** An answer-less response with `rcode` to a query whose header alone could be read. */
function bare(id: number, rd: boolean, rcode: number, questions: dnsPacket.Question[] = []): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id,
    flags: (rd ? dnsPacket.RECURSION_DESIRED : 0) | dnsPacket.RECURSION_AVAILABLE | rcode,
    questions,
  });
}

/** Asks every network for (name, type); undefined when no network has the name. */
async function lookupAll(ctx: AnswerContext, name: string, type: DnsRecordType): Promise<string[] | undefined> {
  let found: string[] | undefined;
  for (const network of ctx.networks) {
    const r = await ctx.records.lookup(network, name, type);
    if (r === undefined) continue;
    found ??= [];
    for (const v of r) if (!found.includes(v)) found.push(v);
  }
  return found;
}

/** Decides what to do with one query received over `transport`. */
export async function answer(query: Buffer, transport: 'udp' | 'tcp', ctx: AnswerContext): Promise<Verdict> {
  if (query.length < HEADER || query[2]! & 0x80) return { drop: true };
  const id = query.readUInt16BE(0);
  const rd = (query[2]! & 0x01) !== 0;
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(query);
  } catch {
    return { reply: bare(id, rd, RCODE.FORMERR) };
  }
  if (((query[2]! >> 3) & 0x0f) !== 0) return { reply: bare(id, rd, RCODE.NOTIMP) };
  const questions = packet.questions ?? [];
  const q = questions[0];
  if (questions.length !== 1 || !q) return { reply: bare(id, rd, RCODE.FORMERR) };
  const forward = { forward: true, fallback: bare(id, rd, RCODE.SERVFAIL, questions) } as const;
  if ((q.class ?? 'IN') !== 'IN') return forward;

  let type: DnsRecordType;
  let key: string;
  const name = q.name.toLowerCase().replace(/\.$/, '');
  if (q.type === 'A' || q.type === 'AAAA') {
    type = q.type;
    key = name;
  } else if (q.type === 'PTR') {
    const addr = addressOfReverseName(name);
    if (addr === undefined) return forward;
    type = 'PTR';
    key = addr;
  } else {
    return forward;
  }

  let found: string[] | undefined;
  try {
    found = await lookupAll(ctx, key, type);
  } catch {
    return { reply: bare(id, rd, RCODE.SERVFAIL, questions) };
  }
  if (found === undefined) return forward;

  const response: dnsPacket.Packet = {
    type: 'response',
    id,
    flags: (rd ? dnsPacket.RECURSION_DESIRED : 0) | dnsPacket.RECURSION_AVAILABLE,
    questions,
    answers: found.map((data) => ({ type, name: q.name, ttl: ctx.ttl, class: 'IN' as const, data })),
  };
  const reply = dnsPacket.encode(response);
  if (transport === 'udp' && reply.length > udpLimit(packet)) {
    // Too big for the client's datagrams: it asks again over TCP.
    return { reply: dnsPacket.encode({ ...response, flags: (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [] }) };
  }
  return { reply };
}

/** The UDP size the client accepts: its EDNS buffer size (RFC 6891), else 512. */
function udpLimit(packet: dnsPacket.DecodedPacket): number {
  for (const a of packet.additionals ?? []) {
    if (a.type === 'OPT') return Math.min(Math.max(a.udpPayloadSize ?? UDP_DEFAULT, UDP_DEFAULT), UDP_MAX);
  }
  return UDP_DEFAULT;
}
