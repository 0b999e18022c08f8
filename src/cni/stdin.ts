/**
 * CNI plugin: reading the network configuration the runtime writes on stdin. Not JSON
 * (or not an object) is the spec's code 6; a read failure code 5.
 * @module
 */
import { readFileSync } from 'node:fs';
import { CNI_ERR, CniError } from './errors.js';

/** Reads all of stdin ('' when there is none). */
export async function readStdin(): Promise<string> {
  try {
    return readFileSync(0, 'utf8');
  } catch (e) {
    // A non-blocking stdin (inherited from a runtime that set O_NONBLOCK) needs the stream.
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw new CniError(CNI_ERR.IO_FAILURE, `cannot read stdin: ${(e as Error).message}`);
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
}

/** Parses the configuration text into a JSON object. */
export function decodeConfig(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CniError(CNI_ERR.DECODE, 'the network configuration on stdin is not JSON', (e as Error).message);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CniError(CNI_ERR.DECODE, 'the network configuration on stdin is not a JSON object');
  return v as Record<string, unknown>;
}
