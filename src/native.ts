/**
 * Layer 0: the only file that loads the C++ addon, and the exact TypeScript shape of
 * what it exports. The addon moves bytes and reports errno; it knows no message formats
 * beyond the netlink header it needs to tell when a batch is complete.
 * @module
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { SystemError, ValidationError } from './errors.js';

/** One step of {@link NativeBinding.pipeline}: a netlink exchange, or a sysctl write in a namespace. */
export type PipelineStep =
  | { fd: number; request: Buffer; expect: Uint32Array }
  | { nsFd: number; protocol: number; request: Buffer; expect: Uint32Array }
  | { nsFd: number; path: string; value: string };

/**
 * What a pipeline step gave: a netlink step's reply datagrams, `true` for a sysctl
 * written, the SystemError of a failed system call, `null` for a step that did not run.
 */
export type PipelineResult = Buffer | true | Error | null;

/** The results of a pipeline, one per step, and how long each step took (0 for one that did not run). */
export type PipelineResults = PipelineResult[] & { durationsMs: Float64Array };

/** What the addon exports. Every failing call throws or rejects with {@link SystemError} (or {@link ValidationError} for a bad argument). */
export interface NativeBinding {
  /**
   * Hands the addon the error classes it must construct: `new SystemError(errno, syscall,
   * path?)` for a failed system call, `new ValidationError(field, message)` for an
   * argument it refuses (so no plain TypeError ever reaches a caller).
   */
  setErrorClass(ctor: typeof SystemError, validationCtor?: typeof ValidationError): void;

  /**
   * Opens a netlink socket of `protocol` (NETLINK_ROUTE 0, NETLINK_NETFILTER 12) inside the
   * namespace `nsFd` (-1: the caller's own), with NETLINK_EXT_ACK, NETLINK_CAP_ACK and
   * NETLINK_GET_STRICT_CHK on, bound, with receive/send buffers of `bufferBytes`.
   * setns spans only the socket's creation and is always undone. Synchronous, microseconds.
   */
  netlinkOpen(protocol: number, nsFd: number, bufferBytes: number): number;
  /** The port id (nl_pid) the kernel gave the socket. */
  netlinkPortId(fd: number): number;
  /**
   * Sends `request` (one or more whole netlink messages) in one sendmsg, then reads reply
   * datagrams until every sequence number in `expect` has seen NLMSG_ERROR or NLMSG_DONE,
   * or the socket has nothing more (the kernel answers synchronously, so EAGAIN means it
   * has said all it will). Runs on an addon thread; resolves with all datagrams
   * concatenated (each padded to 4 bytes). One transact at a time per socket.
   */
  netlinkTransact(fd: number, request: Buffer, expect: Uint32Array): Promise<Buffer>;
  /** {@link netlinkTransact} on the calling thread (blocks it). */
  netlinkTransactSync(fd: number, request: Buffer, expect: Uint32Array): Buffer;
  /**
   * Subscribes a new netlink socket in namespace `nsFd` to multicast `groups` and calls
   * `onData(datagrams, 0)` on the JS thread as messages arrive (datagrams concatenated as in
   * transact), or `onData(null, errno)` when receiving fails (ENOBUFS: events were lost).
   * Returns the socket fd; stop with {@link monitorClose}.
   */
  monitorOpen(
    protocol: number,
    nsFd: number,
    groups: number[],
    bufferBytes: number,
    onData: (data: Buffer | null, errno: number) => void,
  ): number;
  /** Stops a monitor and closes its socket. */
  monitorClose(fd: number): void;

  /**
   * Creates a new network namespace (unshare on an addon thread, never the JS thread) and
   * resolves with an fd for it. With `mountPath`, first makes the parent directory a shared
   * mount (once per process) and creates the file exclusively (EEXIST if taken), then
   * bind-mounts the namespace there as `ip netns add` does; on failure nothing is left behind.
   */
  netnsCreate(mountPath: string | null): Promise<number>;
  /** Bind-mounts the namespace `nsFd` at `mountPath` as `ip netns attach` does. */
  netnsMount(nsFd: number, mountPath: string): void;
  /**
   * Whether `mountPath` is a stale mount point — an empty file with nothing mounted on it
   * that no create holds (creates keep it flock()ed until the namespace is mounted) — and,
   * with `remove`, unlinks it.
   */
  netnsRemoveStale(mountPath: string, remove: boolean): boolean;
  /** Unmounts (MNT_DETACH) and unlinks a namespace mount, on an addon thread. */
  netnsUnmount(mountPath: string): Promise<void>;
  /** Opens a namespace file (O_RDONLY|O_CLOEXEC) and checks it is a network namespace. */
  netnsOpen(path: string): number;
  /** Opens the calling thread's network namespace. */
  netnsCurrent(): number;
  /** Closes an fd the addon gave out. */
  close(fd: number): void;

  /**
   * Runs `fn` synchronously with the calling thread inside namespace `nsFd`, then returns
   * the thread to its own namespace. If returning fails the process aborts: a thread left
   * in the wrong namespace would silently corrupt every later operation.
   */
  runIn<T>(nsFd: number, fn: () => T): T;
  /**
   * Creates an AF_INET/AF_INET6 socket of `type` (1 SOCK_STREAM, 2 SOCK_DGRAM) inside
   * namespace `nsFd`, with SO_REUSEADDR, bound to `address`:`port` when `bind` is true.
   * Returns the fd for Node to adopt.
   */
  inetSocket(nsFd: number, family: 4 | 6, type: number, bind: boolean, address: string, port: number): number;
  /**
   * Runs the steps in order on one addon thread — one thread hop and one N-API crossing
   * for work that spans namespaces and protocols. A netlink step is a transact (see
   * {@link netlinkTransact}) on the socket `fd`, or on a socket of `protocol` opened in
   * namespace `nsFd` for the step and closed after; a sysctl step writes
   * `/proc/sys/<path>` from inside `nsFd`.
   * The run stops after the first step the kernel refuses (an NLMSG_ERROR with an error
   * in its replies) or whose system call fails; later steps are `null`. Never rejects for
   * a step's failure: the results say what happened, and `durationsMs` how long each
   * step took on the addon thread. A netlink step's `fd` is borrowed
   * (not duplicated): the caller must keep it open until the promise settles.
   */
  pipeline(steps: PipelineStep[]): Promise<PipelineResults>;
  /**
   * Creates a persistent tun (`tap` false) or tap device named `name` in namespace `nsFd`
   * with TUNSETIFF (IFF_NO_PI), optionally multi-queue / with a virtio-net header and
   * owned by uid `owner` / gid `group` (-1: not set), then TUNSETPERSIST — like `ip tuntap
   * add`. On an addon thread; EEXIST/EBUSY when the name is taken.
   */
  tunCreate(nsFd: number, name: string, tap: boolean, multiQueue: boolean, vnetHdr: boolean, owner: number, group: number): Promise<void>;
  /** Reads `/proc/sys/<key path>` as seen from namespace `nsFd`, on an addon thread. */
  sysctlRead(nsFd: number, path: string): Promise<string>;
  /** Writes `/proc/sys/<key path>` as seen from namespace `nsFd`, on an addon thread. */
  sysctlWrite(nsFd: number, path: string, value: string): Promise<void>;
}

const require = createRequire(import.meta.url);
// node-gyp-build picks build/Release (compiled here) first, else the prebuilt binary for
// this platform and architecture shipped in prebuilds/ (see scripts/prebuild.sh).
const load = require('node-gyp-build') as (dir: string) => NativeBinding;

/** The loaded addon, with the library's error class installed. */
export const native: NativeBinding = load(fileURLToPath(new URL('..', import.meta.url)));
native.setErrorClass(SystemError, ValidationError);
