// Fault injection at every step of connect() and create(): two ways, each checked against
// the kernel (`ip -j`, `nft -j`, /run/netns: no reservation left behind) and by a next
// connect, which can have the same address and port as if nothing had happened.
//
// 1. The named steps of the `faultInjection` hook (connect:netns, connect:link ...), for
//    every kind of endpoint and for the first and a further network.
// 2. Every call into the native addon, in turn: the k-th call fails — "before" (the
//    request never reaches the kernel, as when sendmsg fails) and, for calls that change
//    something, "after" (the kernel did it but the reply is lost, as with ENOBUFS). A
//    pipeline (several batches run by one addon thread) fails at each of its steps.
//    This needs no knowledge of the steps: whatever connect() and create() do, each of
//    their kernel calls is made to fail once.
import { statSync, readdirSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { BridgeNetwork, Netns, NetplumbError, SystemError } from '../dist/index.js';
import { native } from '../dist/native.js';
import { faultInjection } from '../dist/network/bridge-network.js';
import { ip, ipJson, nftJson, ptest, uniqueName } from './helpers.js';
import { lab } from './network-lab.js';

const ENOBUFS = osConstants.errno.ENOBUFS;
const EIO = osConstants.errno.EIO;

/** The addon calls that may fail, and whether a call changes kernel state (worth an "after" fault). */
const INTERCEPT = {
  netlinkOpen: false,
  netlinkTransact: true,
  netlinkTransactSync: true,
  pipeline: true,
  netnsCreate: true,
  netnsMount: true,
  netnsUnmount: true,
  netnsOpen: false,
  sysctlWrite: true,
  sysctlRead: false,
};

/**
 * Wraps the addon's functions once; `plan` decides per call. Calls are counted from
 * `arm()`; a pipeline counts as one call per step.
 */
const originals = {};
let plan; // { fail: k, mode: 'before' | 'after' } | { record: [] } | undefined
let calls = 0;
let injected = false;
function wrapNative() {
  if (Object.keys(originals).length) return;
  for (const [name, mutating] of Object.entries(INTERCEPT)) {
    const real = native[name];
    if (typeof real !== 'function') continue;
    originals[name] = real;
    native[name] = (...args) => {
      if (!plan) return real.apply(native, args);
      if (name === 'pipeline') return pipeline(real, args[0]);
      const k = ++calls;
      plan.record?.push(name);
      if (plan.fail !== k) return real.apply(native, args);
      injected = true;
      const isAsync = name !== 'netlinkTransactSync' && name !== 'netnsMount' && name !== 'netlinkOpen' && name !== 'netnsOpen';
      if (plan.mode === 'before' || !mutating) {
        const err = new SystemError(EIO, `${name} (injected)`);
        if (isAsync) return Promise.reject(err);
        throw err;
      }
      // "after": the call takes effect, then its outcome is lost.
      const lost = () => new SystemError(ENOBUFS, `${name} (injected: reply lost)`);
      if (isAsync) return Promise.resolve(real.apply(native, args)).then(() => Promise.reject(lost()));
      real.apply(native, args);
      throw lost();
    };
  }
}

/** A pipeline of n steps takes call numbers calls+1 .. calls+n; a fault at step i ends the run there. */
async function pipeline(real, steps) {
  const first = calls + 1;
  calls += steps.length;
  for (let i = 0; i < steps.length; i++) plan.record?.push(`pipeline[${i}]`);
  const at = plan.fail === undefined ? -1 : plan.fail - first;
  if (at < 0 || at >= steps.length) return real.call(native, steps);
  injected = true;
  const ran = plan.mode === 'after' ? at + 1 : at;
  const results = ran > 0 ? await real.call(native, steps.slice(0, ran)) : [];
  // The run stops at the first failure: if a real step failed first, that stands.
  if (results.some((r) => r instanceof Error || r === null)) return [...results, ...Array(steps.length - results.length).fill(null)];
  const out = results.slice(0, at);
  out.push(new SystemError(plan.mode === 'after' ? ENOBUFS : EIO, `pipeline step ${at} (injected)`));
  while (out.length < steps.length) out.push(null);
  return out;
}

function restoreNative() {
  for (const [name, fn] of Object.entries(originals)) {
    native[name] = fn;
    delete originals[name];
  }
}

/**
 * What the kernel shows in the host, the container namespaces and /run/netns. nft handles
 * are dropped (they only count up), and of each bridge's address cursor only its key is
 * kept: it is a next-fit hint, which an attempt that reserved and was then undone may move
 * on, as Docker's allocator does.
 */
function snapshot(l, containers) {
  const strip = (x) => JSON.parse(JSON.stringify(x, (k, v) => (k === 'handle' ? undefined : k === 'map' && v?.name === 'cursors' ? { name: 'cursors', keys: (v.elem ?? []).map(([e]) => e.elem?.val ?? e) } : v)));
  const nsfs = statSync('/proc/self/ns/net').dev;
  return {
    links: ipJson(l.hostName, '-d', 'link').map((x) => `${x.ifname} ${x.master ?? ''} ${x.ifalias ?? ''}`).sort(),
    addrs: ipJson(l.hostName, 'addr').map((x) => `${x.ifname} ${x.addr_info.map((a) => a.local).join(',')}`).sort(),
    nft: strip(nftJson(l.hostName)),
    containers: containers.map((c) => ({ links: ipJson(c.name, 'addr').map((x) => `${x.ifname} ${x.addr_info.map((a) => a.local).join(',')}`), routes: ipJson(c.name, 'route') })),
    // Only this process's entries: other test files run beside this one in the same sandbox.
    runNetns: readdirSync('/run/netns').filter((n) => n.includes(String(process.pid))).map((n) => `${n}${statSync(`/run/netns/${n}`).dev === nsfs ? '' : ' (unmounted)'}`).sort(),
  };
}

ptest.serial('every named step of connect() and create() fails in turn and leaves nothing behind', async (t) => {
  t.timeout(60000);
  const l = await lab(t);
  t.teardown(() => (faultInjection.hook = undefined));
  let count = 0;
  const inject = (step) => (s) => {
    if (s === step) {
      count++;
      throw new NetplumbError(`injected at ${s}`, 'ERR_TEST_FAULT');
    }
  };
  const createSteps = ['create:bridge', 'create:address', 'create:sysctl', 'create:rules'];
  // The first network (netplumb's table does not exist yet), then a dual-stack one beside it.
  for (const options of [{ name: 'first', subnet: '10.60.0.0/24' }]) {
    for (const step of createSteps) {
      const before = snapshot(l, []);
      faultInjection.hook = inject(step);
      await t.throwsAsync(BridgeNetwork.create({ netns: l.host, ...options }), { code: 'ERR_TEST_FAULT' }, step);
      faultInjection.hook = undefined;
      t.deepEqual(snapshot(l, []), before, `${options.name}: ${step}`);
    }
  }
  await l.network({ name: 'first', subnet: '10.60.0.0/24' });
  for (const step of createSteps) {
    const before = snapshot(l, []);
    faultInjection.hook = inject(step);
    await t.throwsAsync(BridgeNetwork.create({ netns: l.host, name: 'ds', subnet: '10.61.0.0/24', subnet6: 'fd00:61::/64', icc: false }), { code: 'ERR_TEST_FAULT' }, step);
    faultInjection.hook = undefined;
    t.deepEqual(snapshot(l, []), before, `ds: ${step}`);
  }
  const ds = await l.network({ name: 'ds', subnet: '10.61.0.0/24', subnet6: 'fd00:61::/64', icc: false });
  const given = await l.container();
  const kinds = {
    given: () => [given, {}],
    anonymous: () => [undefined, {}],
    named: () => [undefined, { netnsName: uniqueName('fn') }],
  };
  for (const [kind, make] of Object.entries(kinds)) {
    for (const step of ['connect:netns', 'connect:link', 'connect:publish', 'connect:configure']) {
      const before = snapshot(l, [given]);
      const [ns, extra] = make();
      faultInjection.hook = inject(step);
      await t.throwsAsync(ds.connect(ns, { ...extra, publish: [{ hostPort: 9000, containerPort: 80 }] }), { code: 'ERR_TEST_FAULT' }, `${kind} ${step}`);
      faultInjection.hook = undefined;
      t.deepEqual(snapshot(l, [given]), before, `${kind}: ${step}`);
    }
  }
  // Nothing was lost in the bookkeeping either: the first address and the port are free.
  const ep = await ds.connect(given, { ipv4: '10.61.0.2', publish: [{ hostPort: 9000, containerPort: 80 }] });
  t.is(ep.ipv4, '10.61.0.2');
  t.is(ep.ipv6, 'fd00:61::2');
  t.log(`RELIABILITY faults-named ${count}`);
  t.is(count, 4 * 2 + 4 * 3);
});

ptest.serial('every kernel call of connect() and create() fails in turn, before and after it takes effect, and nothing is left', async (t) => {
  t.timeout(110000);
  const l = await lab(t);
  wrapNative();
  t.teardown(() => {
    plan = undefined;
    restoreNative();
  });
  const stats = { scenarios: 0, calls: 0, faults: 0, rejected: 0, tolerated: 0 };
  const given = await l.container();
  // connect() brings a given namespace's loopback up and leaves it up (as Docker does): start with it up.
  ip(given.name, 'link', 'set', 'lo', 'up');

  /** Runs `op` once recording its calls, undoes it with `undo`, then once per call and mode with a fault. */
  async function everyCall(label, op, undo, expectFirst) {
    const before = snapshot(l, [given]);
    plan = { record: [] };
    calls = 0;
    const result = await op();
    const recorded = plan.record;
    plan = undefined;
    const first = await expectFirst(result);
    await undo(result);
    t.deepEqual(snapshot(l, [given]), before, `${label}: the dry run undoes itself`);
    stats.scenarios++;
    stats.calls += recorded.length;
    for (let k = 1; k <= recorded.length; k++) {
      for (const mode of ['before', 'after']) {
        const call = recorded[k - 1];
        const name = call.replace(/\[.*/, '');
        if (mode === 'after' && !INTERCEPT[name]) continue;
        const where = `${label}: call ${k} (${call}) fails ${mode}`;
        plan = { fail: k, mode };
        calls = 0;
        injected = false;
        let outcome;
        try {
          outcome = { value: await op() };
        } catch (e) {
          outcome = { error: e };
        }
        plan = undefined;
        if (!injected) {
          // This run made fewer calls (a socket opened once is reused; parallel calls reorder).
          if (outcome.value !== undefined) await undo(outcome.value);
          continue;
        }
        stats.faults++;
        if (outcome.error) {
          stats.rejected++;
          t.true(outcome.error instanceof NetplumbError, `${where}: typed error (${outcome.error})`);
        } else {
          // A read the operation can do without: it must then have done its whole job.
          stats.tolerated++;
          t.deepEqual(await expectFirst(outcome.value), first, `${where}: a tolerated fault changes nothing`);
          await undo(outcome.value);
        }
        t.deepEqual(snapshot(l, [given]), before, where);
      }
    }
  }

  // create(): the first network of the namespace (the table is created with it), then one beside it.
  const netOptions = { netns: l.host, name: 'kf', subnet: '10.62.0.0/24', subnet6: 'fd00:62::/64' };
  await everyCall('create first', () => BridgeNetwork.create(netOptions), (n) => n.remove(), async (n) => (await n.inspect()).ipam);
  const base = await l.network({ name: 'base', subnet: '10.63.0.0/24' });
  await everyCall('create second', () => BridgeNetwork.create(netOptions), (n) => n.remove(), async (n) => (await n.inspect()).ipam);
  t.truthy(base);

  // connect(): each kind of endpoint on a dual-stack, icc=false network with a published port.
  const net = await l.network({ ...netOptions, icc: false });
  const publish = [{ hostPort: 9100, containerPort: 80 }];
  const describe = (ep) => ({ ipv4: ep.ipv4, ipv6: ep.ipv6, ports: ep.ports });
  // Owned namespaces die with remove(), asynchronously: wait until their veths are gone.
  const removeAndSettle = async (ep) => {
    await ep.remove();
    for (let i = 0; i < 200 && ipJson(l.hostName, 'link', 'show', 'master', net.bridge).length; i++) await new Promise((r) => setTimeout(r, 10));
  };
  await everyCall('connect given', () => net.connect(given, { publish }), removeAndSettle, describe);
  await everyCall('connect anonymous', () => net.connect(undefined, { publish }), removeAndSettle, describe);
  await everyCall('connect named', () => net.connect(undefined, { publish, netnsName: `kfn${process.pid}` }), removeAndSettle, describe);

  t.log(`RELIABILITY faults-native ${JSON.stringify(stats)}`);
  t.true(stats.faults > 0);
});

ptest.serial('every kernel call of remove() fails in turn: the endpoint stays attached, and a second remove() finishes', async (t) => {
  t.timeout(60000);
  const l = await lab(t);
  wrapNative();
  t.teardown(() => {
    plan = undefined;
    restoreNative();
  });
  const given = await l.container();
  ip(given.name, 'link', 'set', 'lo', 'up');
  const net = await l.network({ name: 'rmf', subnet: '10.64.0.0/24', subnet6: 'fd00:64::/64' });
  const publish = [{ hostPort: 9200, containerPort: 80 }];
  const settle = async () => {
    for (let i = 0; i < 200 && ipJson(l.hostName, 'link', 'show', 'master', net.bridge).length; i++) await new Promise((r) => setTimeout(r, 10));
  };
  const before = snapshot(l, [given]);
  const stats = { faults: 0, retried: 0 };
  /** Whether the kernel holds any reservation element of `ep` (`nft -j`). */
  const reserved = (ep) => JSON.stringify(nftJson(l.hostName)).includes(`ep=${ep.id}`);
  const kinds = {
    given: () => net.connect(given, { publish }),
    anonymous: () => net.connect(undefined, { publish }),
    named: () => net.connect(undefined, { publish, netnsName: `rmf${process.pid}` }),
  };
  for (const [kind, connect] of Object.entries(kinds)) {
    // How many calls remove() makes.
    let ep = await connect();
    plan = { record: [] };
    calls = 0;
    await ep.remove();
    const count = plan.record.length;
    plan = undefined;
    await settle();
    for (let k = 1; k <= count; k++) {
      for (const mode of ['before', 'after']) {
        ep = await connect();
        plan = { fail: k, mode };
        calls = 0;
        injected = false;
        const first = await ep.remove().then(() => undefined, (e) => e);
        plan = undefined;
        const where = `${kind}: remove call ${k} fails ${mode}`;
        if (injected && first) {
          stats.faults++;
          t.true(first instanceof NetplumbError, `${where}: typed (${first})`);
          // Its reservation is still held in the kernel (its veth may be gone already).
          t.true(reserved(ep), `${where}: still attached`);
          t.false(ep.removed, `${where}: not marked removed`);
          await ep.remove();
          stats.retried++;
        } else if (first) {
          t.fail(`${where}: failed without an injected fault: ${first}`);
        }
        t.false(reserved(ep), `${where}: detached after all`);
        t.false((await net.endpoints()).some((e) => e.id === ep.id), `${where}: not listed`);
        await settle();
        t.deepEqual(snapshot(l, [given]), before, where);
      }
    }
  }
  // Addresses and ports came back every time.
  const ep = await net.connect(given, { ipv4: '10.64.0.2', publish });
  t.is(ep.ipv4, '10.64.0.2');
  t.log(`RELIABILITY faults-remove ${JSON.stringify(stats)}`);
});
