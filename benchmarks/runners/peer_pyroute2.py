#!/usr/bin/python3
# pyroute2 doing the endpoint (a peer, run side by side with the others): the host's
# IPRoute socket opened once; per endpoint the veth with its peer created in the
# namespace (net_ns_fd), then an IPRoute socket opened inside the namespace (pushns/popns,
# no helper process: pyroute2's fastest way in) for lo up, eth0 up, address and default
# route. Publishing is left out: pyroute2 0.7 has no nftables set-element API (the floor's
# element costs ~10 µs). Prints one series as JSON, like floor.c.
import json, os, resource, sys, time
from pyroute2 import IPRoute, netns

def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default

n = int(arg('--n', '10')); mode = arg('--mode', 'attach'); bridge = arg('--bridge', 'nbench0')
gateway = arg('--gateway', '172.30.0.1'); prefix = arg('--prefix', 'py')
now = lambda: time.perf_counter() * 1e6
cpu = lambda: (lambda r: (r.ru_utime + r.ru_stime) * 1e6)(resource.getrusage(resource.RUSAGE_SELF))

def ep(i):
    h = i + 2
    return {'ns': f'{prefix}-{i}', 'veth': f'{prefix}v{i}', 'ip': f'172.30.{(h >> 8) & 255}.{h & 255}',
            'mac': '02:42:ac:1e:%02x:%02x' % ((h >> 8) & 255, h & 255)}

eps = [ep(i) for i in range(n)]
host = IPRoute()
br = host.link_lookup(ifname=bridge)[0]
if mode == 'attach':
    for e in eps: netns.create(e['ns'])
socks = {}
setup = {'total': [], 'ns': [], 'veth': [], 'nsbatch': []}
c0 = cpu(); w0 = now()
for e in eps:
    t0 = now()
    if mode == 'full': netns.create(e['ns'])
    netns.pushns(e['ns']); inside = IPRoute(); netns.popns()
    t1 = now()
    host.link('add', ifname=e['veth'], kind='veth', master=br, state='up', mtu=1500,
              peer={'ifname': 'eth0', 'net_ns_fd': e['ns'], 'address': e['mac'], 'mtu': 1500})
    t2 = now()
    inside.link('set', index=1, state='up')
    idx = inside.link_lookup(ifname='eth0')[0]
    inside.link('set', index=idx, state='up')
    inside.addr('add', index=idx, address=e['ip'], prefixlen=16, broadcast='172.30.255.255')
    inside.route('add', dst='0.0.0.0/0', gateway=gateway)
    t3 = now()
    socks[e['ns']] = inside
    setup['ns'].append(t1 - t0); setup['veth'].append(t2 - t1); setup['nsbatch'].append(t3 - t2); setup['total'].append(t3 - t0)
setup_res = {'threads': 1, 'wallUs': now() - w0, 'cpuUs': cpu() - c0, 'steps': setup}
teardown = {'total': [], 'delete': []}
c0 = cpu(); w0 = now()
for e in eps:
    t0 = now()
    socks.pop(e['ns']).close()
    if mode == 'full': netns.remove(e['ns'])
    else: host.link('del', ifname=e['veth'])
    t1 = now()
    teardown['delete'].append(t1 - t0); teardown['total'].append(t1 - t0)
td = {'threads': 1, 'wallUs': now() - w0, 'cpuUs': cpu() - c0, 'releasedUs': 0, 'steps': teardown}
if mode == 'attach':
    for e in eps: netns.remove(e['ns'])
host.close()
print(json.dumps({'setup': setup_res, 'teardown': td}))
