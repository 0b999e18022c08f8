/**
 * Layer 4 (network): a pool of network namespaces made and configured ahead of time, so
 * that a container's network starts in the time it takes to take one from an array — what
 * orchestrators that need sub-millisecond starts do (e2b, fnproject). Namespace creation
 * (`unshare`, ~0.3 ms of kernel time) and, with a network, the whole connect move off the
 * start path into a background refill.
 *
 * The pool is a set of handles this process owns, like any Netns handle: nothing about
 * it is kept anywhere else. Pooled namespaces are anonymous, so they die with the process;
 * pre-connected endpoints are real endpoints of their network (listed by `endpoints()`),
 * which `cleanupNetworks()` reclaims after a crash like any endpoint whose namespace is gone.
 * @module
 */
import { NetplumbError, ValidationError } from '../errors.js';
import { Netns } from '../netns.js';
import { RtnlBatch } from '../rtnl/batch.js';
import type { BridgeNetwork } from './bridge-network.js';
import type { Endpoint } from './endpoint.js';
import { type ConnectOptions, bool, checkObject } from './options.js';

/** Options of {@link NetnsPool.create}. */
export interface NetnsPoolOptions {
  /** How many namespaces to keep ready (1 to 4096). */
  size: number;
  /**
   * Connect each pooled namespace to this network in advance: {@link NetnsPool.take} then
   * hands out a namespace whose interface, address and default route are already there.
   * The endpoint owns the namespace (removing it drops the namespace).
   */
  network?: BridgeNetwork;
  /** What each pre-connection asks for (no published ports: those belong to a container, and no namespace name). */
  connect?: Omit<ConnectOptions, 'publish' | 'netnsName' | 'ipv4' | 'ipv6' | 'mac'>;
  /** Bring `lo` up in each namespace (default true; a pre-connected one has it up anyway). */
  loopback?: boolean;
  /** Refill in the background after each take (default true). */
  refill?: boolean;
  /** Namespaces made at once while filling (1 to 64, default 4). */
  concurrency?: number;
}

/** What {@link NetnsPool.take} hands out: the namespace, and its endpoint when the pool pre-connects. */
export interface PooledNetns {
  netns: Netns;
  endpoint?: Endpoint;
}

/**
 * Namespaces (optionally already connected to a bridge network) made ahead of time and
 * taken in O(1). Create it with {@link NetnsPool.create}; {@link take} is synchronous;
 * {@link close} releases what is still pooled. What was taken belongs to the caller: close
 * or delete the namespace, or remove the endpoint, when done.
 */
export class NetnsPool {
  private readonly ready: PooledNetns[] = [];
  private filling: Promise<void> | undefined;
  private closed = false;
  /** The last background refill's failure, thrown by the next {@link acquire} that has to wait. */
  private refillError: unknown;

  private constructor(
    private readonly size: number,
    private readonly make: () => Promise<PooledNetns>,
    private readonly refill: boolean,
    private readonly concurrency: number,
  ) {}

  /**
   * A pool filled with `size` namespaces. Rejects with ValidationError for bad options, or
   * with the error of a namespace that could not be made (then nothing is left).
   */
  static async create(options: NetnsPoolOptions): Promise<NetnsPool> {
    checkObject(options);
    const size = options.size;
    if (!Number.isInteger(size) || size < 1 || size > 4096) throw new ValidationError('size', `must be an integer 1 to 4096, not ${String(size)}`);
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new ValidationError('concurrency', 'must be an integer 1 to 64');
    const loopback = bool(options.loopback, 'loopback', true);
    const refill = bool(options.refill, 'refill', true);
    const network = options.network;
    const connect = options.connect ?? {};
    checkObject(connect, 'connect');
    for (const k of ['publish', 'netnsName', 'ipv4', 'ipv6', 'mac']) {
      if ((connect as Record<string, unknown>)[k] !== undefined) throw new ValidationError(`connect.${k}`, 'is per container: not for a pooled endpoint');
    }
    const make = network
      ? async (): Promise<PooledNetns> => {
          const endpoint = await network.connect(undefined, connect);
          return { netns: endpoint.netns as Netns, endpoint };
        }
      : async (): Promise<PooledNetns> => {
          const netns = await Netns.create();
          try {
            if (loopback) await new RtnlBatch(netns).linkSet(1, { up: true }).commit();
          } catch (e) {
            netns.close();
            throw e;
          }
          return { netns };
        };
    const pool = new NetnsPool(size, make, refill, concurrency);
    try {
      await pool.fill();
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /** Namespaces ready to be taken. */
  get available(): number {
    return this.ready.length;
  }

  /** A ready namespace, or undefined when the pool is empty; O(1). Starts a background refill. */
  take(): PooledNetns | undefined {
    if (this.closed) throw new NetplumbError('the namespace pool is closed', 'ERR_NETPLUMB_CLOSED');
    const item = this.ready.pop();
    if (this.refill && this.filling === undefined) {
      // A failed refill is kept for the next acquire() that has to wait, not thrown here.
      void this.fill().catch((e: unknown) => {
        this.refillError = e;
      });
    }
    return item;
  }

  /** {@link take}, or — when the pool is empty — a namespace made now. */
  async acquire(): Promise<PooledNetns> {
    const item = this.take();
    if (item) return item;
    if (this.refillError !== undefined) {
      const e = this.refillError;
      this.refillError = undefined;
      throw e;
    }
    return this.make();
  }

  /** Makes namespaces until `size` are ready (at most `concurrency` at once); resolves when done. */
  fill(): Promise<void> {
    if (this.closed) return Promise.reject(new NetplumbError('the namespace pool is closed', 'ERR_NETPLUMB_CLOSED'));
    this.filling ??= (async () => {
      try {
        let pending = 0;
        const worker = async (): Promise<void> => {
          while (!this.closed && this.ready.length + pending < this.size) {
            pending++;
            try {
              const item = await this.make();
              if (this.closed) await release(item);
              else this.ready.push(item);
            } finally {
              pending--;
            }
          }
        };
        await Promise.all(Array.from({ length: this.concurrency }, worker));
      } finally {
        this.filling = undefined;
      }
    })();
    return this.filling;
  }

  /** Stops refilling and releases every namespace still pooled (removing its endpoint); taken ones are the caller's. */
  async close(): Promise<void> {
    this.closed = true;
    await this.filling?.catch(() => undefined);
    const items = this.ready.splice(0);
    let first: unknown;
    for (const item of items) {
      await release(item).catch((e: unknown) => {
        first ??= e;
      });
    }
    if (first !== undefined) throw first;
  }
}

async function release(item: PooledNetns): Promise<void> {
  if (item.endpoint) await item.endpoint.remove();
  else item.netns.close();
}
