/*
 * The practical floor: the benchmark's endpoint workload done with the fewest syscalls
 * we know how to issue against raw netlink. Whatever netplumb costs on top of this is
 * userspace overhead; whatever this costs is the kernel's own work.
 *
 * One endpoint, as Docker does for `docker run -p PORT:80` on a bridge:
 *   setup    (full) create the namespace: mknod + unshare + socket + mount + open + setns
 *            (attach: the namespace exists; open + setns + socket + setns)
 *            veth with its peer already in the namespace as eth0 (MAC, MTU), host end
 *            enslaved to the bridge and up: ONE RTM_NEWLINK, one ack
 *            in the namespace: lo up, eth0 up, address, default route: ONE sendmsg, one ack
 *            publish a TCP port: ONE NFT_MSG_NEWSETELEM in an NFNL batch, one ack
 *   teardown unpublish (one DELSETELEM batch); then
 *            (attach) delete the veth (RTM_DELLINK: waits for RCU, ~20 ms)
 *            (full)   umount + unlink and close our fds: the kernel destroys the
 *                     namespace, and with it both veth ends, asynchronously
 * Full setup is 12 syscalls, attach 10; teardown 6 either way.
 *
 * Only the last request of a sendmsg asks for an ack: the kernel still reports any
 * failure of the earlier ones, and handles them in order, so one recv is enough.
 *
 * Usage: floor [options]; prints one JSON object (times in microseconds) on stdout.
 *   --n N                 endpoints (kept alive until all are set up, then torn down)
 *   --mode attach|full    who owns the namespace
 *   --setup-threads T     setups in flight (one thread each); default 1
 *   --teardown-threads T  teardowns in flight; default 1
 *   --no-ipv6             disable IPv6 in each endpoint's namespace before eth0 exists
 *   --bridge NAME --table NAME --map NAME --prefix STR --port-base P --first I
 *   --one-queue           create both veth ends with one tx and one rx queue, as
 *                         netplumb does (not used by `npm run bench`: the floor stays
 *                         the plain request; docs/benchmarks.md compares the two)
 *   --roundtrip N         instead: time N bare round trips (a no-op RTM_NEWLINK on lo,
 *                         acked), the transport cost every request pays
 *
 * Endpoint i gets namespace PREFIX-i (/run/netns), host veth PREFIXvI, address
 * 172.30.0.0/16 + 2 + FIRST + i, host port PORT_BASE + i published to its port 80.
 * Must run inside the benchmark's sandbox (a throwaway network + mount namespace).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
/* glibc's net/if.h first: it tells the UAPI headers not to redefine IFF_*. */
#include <net/if.h>
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef NFPROTO_INET
#define NFPROTO_INET 1
#endif

/* ---- options ---------------------------------------------------------------------- */

static int opt_n = 10;
static int opt_full = 0;
static int opt_setup_threads = 1;
static int opt_teardown_threads = 1;
static int opt_no_ipv6 = 0;
static const char *opt_bridge = "nbench0";
static const char *opt_table = "bench";
static const char *opt_map = "ports";
static const char *opt_prefix = "fl";
static int opt_port_base = 20000;
static int opt_first = 0;
static int opt_roundtrip = 0;
/* numtxqueues/numrxqueues 1 on both veth ends, as netplumb creates them (docs/benchmarks.md). */
static int opt_one_queue = 0;

/* ---- timing ----------------------------------------------------------------------- */

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static void die(const char *what, int err) {
  fprintf(stderr, "floor: %s: %s\n", what, strerror(err));
  exit(1);
}

/* ---- netlink message building ----------------------------------------------------- */

struct buf {
  char b[2048] __attribute__((aligned(8)));
  size_t len;
};

static void *put(struct buf *m, const void *data, size_t len) {
  void *p = m->b + m->len;
  if (data) memcpy(p, data, len);
  else memset(p, 0, len);
  m->len += NLMSG_ALIGN(len);
  return p;
}

static size_t msg_begin(struct buf *m, uint16_t type, uint16_t flags, uint32_t seq) {
  size_t off = m->len;
  struct nlmsghdr *h = put(m, NULL, sizeof *h);
  h->nlmsg_type = type;
  h->nlmsg_flags = NLM_F_REQUEST | flags;
  h->nlmsg_seq = seq;
  return off;
}

static void msg_end(struct buf *m, size_t off) { ((struct nlmsghdr *)(m->b + off))->nlmsg_len = m->len - off; }

static void attr(struct buf *m, uint16_t type, const void *data, size_t len) {
  struct nlattr *a = put(m, NULL, NLA_HDRLEN);
  a->nla_type = type;
  a->nla_len = NLA_HDRLEN + len;
  put(m, data, len);
}

static void attr_u32(struct buf *m, uint16_t type, uint32_t v) { attr(m, type, &v, 4); }
static void attr_str(struct buf *m, uint16_t type, const char *s) { attr(m, type, s, strlen(s) + 1); }

static size_t nest_begin(struct buf *m, uint16_t type) {
  size_t off = m->len;
  struct nlattr *a = put(m, NULL, NLA_HDRLEN);
  a->nla_type = type | NLA_F_NESTED;
  return off;
}

static void nest_end(struct buf *m, size_t off) { ((struct nlattr *)(m->b + off))->nla_len = m->len - off; }

/*
 * Sends the buffer in one sendmsg and reads until the ack of `seq` (the last request),
 * or the first error. Returns 0 or a positive errno.
 */
static int transact(int fd, struct buf *m, uint32_t seq) {
  if (send(fd, m->b, m->len, 0) < 0) return errno;
  char rb[8192] __attribute__((aligned(8)));
  for (;;) {
    ssize_t r = recv(fd, rb, sizeof rb, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)rb; NLMSG_OK(h, (size_t)r); h = NLMSG_NEXT(h, r)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      int e = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
      if (e != 0) return e;
      if (h->nlmsg_seq == seq) return 0;
    }
  }
}

static int nl_socket(int protocol) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) die("socket(AF_NETLINK)", errno);
  return fd;
}

/* ---- the endpoint ----------------------------------------------------------------- */

enum { S_NS, S_VETH, S_NSBATCH, S_PUBLISH, S_TOTAL, S_COUNT };
enum { T_UNPUBLISH, T_DELETE, T_TOTAL, T_COUNT };
static const char *setup_steps[S_COUNT] = {"ns", "veth", "nsbatch", "publish", "total"};
static const char *teardown_steps[T_COUNT] = {"unpublish", "delete", "total"};

struct endpoint {
  char ns_path[64];
  char veth[IFNAMSIZ];
  uint8_t ip[4];
  uint16_t port;
  int nsfd;     /* the namespace, for IFLA_NET_NS_FD */
  int sk;       /* rtnetlink socket inside the namespace */
  double setup[S_COUNT];
  double teardown[T_COUNT];
  double setup_start, teardown_start, teardown_end, gone;
};

/* Sockets of one worker thread in the host (sandbox) namespace. */
struct worker {
  int rt;  /* NETLINK_ROUTE */
  int nf;  /* NETLINK_NETFILTER */
  uint32_t seq;
};

static struct endpoint *eps;
static int host_nsfd;
static int bridge_ifindex;

static void endpoint_init(struct endpoint *e, int i) {
  int idx = opt_first + i;
  snprintf(e->ns_path, sizeof e->ns_path, "/run/netns/%s-%d", opt_prefix, idx);
  snprintf(e->veth, sizeof e->veth, "%sv%d", opt_prefix, idx);
  int host = idx + 2;
  e->ip[0] = 172, e->ip[1] = 30, e->ip[2] = (host >> 8) & 0xff, e->ip[3] = host & 0xff;
  e->port = opt_port_base + i;
  e->nsfd = e->sk = -1;
}

/* In the calling thread's (new) namespace: devices created later (eth0) copy its
 * defaults, so they start with IPv6 off. */
static void ipv6_off_by_default(void) {
  int fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, "1", 1) != 1) die("disable_ipv6", errno);
  close(fd);
}

/* The calling thread creates the namespace (as `ip netns add`) and opens a socket in it. */
static void ns_create(struct endpoint *e) {
  if (mknod(e->ns_path, S_IFREG, 0) < 0) die(e->ns_path, errno);
  if (unshare(CLONE_NEWNET) < 0) die("unshare", errno);
  if (opt_no_ipv6) ipv6_off_by_default();
  e->sk = nl_socket(NETLINK_ROUTE);
  if (mount("/proc/thread-self/ns/net", e->ns_path, "none", MS_BIND, NULL) < 0) die("mount", errno);
  e->nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (e->nsfd < 0) die("open ns", errno);
  if (setns(host_nsfd, CLONE_NEWNET) < 0) die("setns back", errno);
}

/* Attach: the namespace exists; open it and a socket inside it. */
static void ns_attach(struct endpoint *e) {
  e->nsfd = open(e->ns_path, O_RDONLY | O_CLOEXEC);
  if (e->nsfd < 0) die(e->ns_path, errno);
  if (setns(e->nsfd, CLONE_NEWNET) < 0) die("setns", errno);
  e->sk = nl_socket(NETLINK_ROUTE);
  if (setns(host_nsfd, CLONE_NEWNET) < 0) die("setns back", errno);
}

static void veth_create(struct worker *w, struct endpoint *e) {
  struct buf m = {.len = 0};
  uint32_t seq = ++w->seq;
  size_t h = msg_begin(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, seq);
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
  put(&m, &ifi, sizeof ifi);
  attr_str(&m, IFLA_IFNAME, e->veth);
  attr_u32(&m, IFLA_MASTER, bridge_ifindex);
  if (opt_one_queue) {
    attr_u32(&m, IFLA_NUM_TX_QUEUES, 1);
    attr_u32(&m, IFLA_NUM_RX_QUEUES, 1);
  }
  size_t li = nest_begin(&m, IFLA_LINKINFO);
  attr_str(&m, IFLA_INFO_KIND, "veth");
  size_t data = nest_begin(&m, IFLA_INFO_DATA);
  size_t peer = nest_begin(&m, VETH_INFO_PEER);
  struct ifinfomsg pifi = {.ifi_family = AF_UNSPEC};
  put(&m, &pifi, sizeof pifi);
  attr_str(&m, IFLA_IFNAME, "eth0");
  /* Docker's MAC: 02:42 followed by the IPv4 address. */
  uint8_t mac[6] = {0x02, 0x42, e->ip[0], e->ip[1], e->ip[2], e->ip[3]};
  attr(&m, IFLA_ADDRESS, mac, 6);
  attr_u32(&m, IFLA_MTU, 1500);
  attr_u32(&m, IFLA_NET_NS_FD, e->nsfd);
  if (opt_one_queue) {
    attr_u32(&m, IFLA_NUM_TX_QUEUES, 1);
    attr_u32(&m, IFLA_NUM_RX_QUEUES, 1);
  }
  nest_end(&m, peer);
  nest_end(&m, data);
  nest_end(&m, li);
  msg_end(&m, h);
  int err = transact(w->rt, &m, seq);
  if (err) die("RTM_NEWLINK veth", err);
}

/*
 * lo up, eth0 up, 172.30.x.y/16 on eth0, default via 172.30.0.1: four requests, one
 * sendmsg. eth0 is ifindex 2: a fresh namespace numbers its devices from 1 (lo) on.
 */
static void ns_batch(struct endpoint *e) {
  struct buf m = {.len = 0};
  uint32_t seq = 0;
  for (int ifindex = 1; ifindex <= 2; ifindex++) {
    size_t h = msg_begin(&m, RTM_NEWLINK, 0, ++seq);
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
    put(&m, &ifi, sizeof ifi);
    msg_end(&m, h);
  }
  size_t h = msg_begin(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ++seq);
  struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = 16, .ifa_index = 2};
  put(&m, &ifa, sizeof ifa);
  attr(&m, IFA_LOCAL, e->ip, 4);
  attr(&m, IFA_ADDRESS, e->ip, 4);
  uint8_t brd[4] = {172, 30, 255, 255};
  attr(&m, IFA_BROADCAST, brd, 4);
  msg_end(&m, h);
  h = msg_begin(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, ++seq);
  struct rtmsg rtm = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
                      .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
  put(&m, &rtm, sizeof rtm);
  uint8_t gw[4] = {172, 30, 0, 1};
  attr(&m, RTA_GATEWAY, gw, 4);
  attr_u32(&m, RTA_OIF, 2);
  msg_end(&m, h);
  int err = transact(e->sk, &m, seq);
  if (err) die("namespace batch (lo/eth0 up, address, route)", err);
}

/* One element of the map: tcp . PORT : IP . 80, in an NFNL batch (begin, elem, end). */
static void nft_element(struct worker *w, struct endpoint *e, int add) {
  struct buf m = {.len = 0};
  struct nfgenmsg batch = {.nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0, .res_id = htons(NFNL_SUBSYS_NFTABLES)};
  size_t h = msg_begin(&m, NFNL_MSG_BATCH_BEGIN, 0, ++w->seq);
  put(&m, &batch, sizeof batch);
  msg_end(&m, h);
  uint32_t seq = ++w->seq;
  uint16_t type = (NFNL_SUBSYS_NFTABLES << 8) | (add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM);
  h = msg_begin(&m, type, (add ? NLM_F_CREATE | NLM_F_EXCL : 0) | NLM_F_ACK, seq);
  struct nfgenmsg g = {.nfgen_family = NFPROTO_INET, .version = NFNETLINK_V0};
  put(&m, &g, sizeof g);
  attr_str(&m, NFTA_SET_ELEM_LIST_TABLE, opt_table);
  attr_str(&m, NFTA_SET_ELEM_LIST_SET, opt_map);
  size_t list = nest_begin(&m, NFTA_SET_ELEM_LIST_ELEMENTS);
  size_t el = nest_begin(&m, NFTA_LIST_ELEM);
  /* Concatenations pad each field to a 4-byte register. */
  uint8_t key[8] = {6 /* IPPROTO_TCP */, 0, 0, 0, e->port >> 8, e->port & 0xff, 0, 0};
  size_t k = nest_begin(&m, NFTA_SET_ELEM_KEY);
  attr(&m, NFTA_DATA_VALUE, key, sizeof key);
  nest_end(&m, k);
  if (add) {
    uint8_t val[8] = {e->ip[0], e->ip[1], e->ip[2], e->ip[3], 0, 80, 0, 0};
    size_t d = nest_begin(&m, NFTA_SET_ELEM_DATA);
    attr(&m, NFTA_DATA_VALUE, val, sizeof val);
    nest_end(&m, d);
  }
  nest_end(&m, el);
  nest_end(&m, list);
  msg_end(&m, h);
  h = msg_begin(&m, NFNL_MSG_BATCH_END, 0, ++w->seq);
  put(&m, &batch, sizeof batch);
  msg_end(&m, h);
  int err = transact(w->nf, &m, seq);
  if (err) die(add ? "NFT_MSG_NEWSETELEM" : "NFT_MSG_DELSETELEM", err);
}

static void veth_delete(struct worker *w, struct endpoint *e) {
  struct buf m = {.len = 0};
  uint32_t seq = ++w->seq;
  size_t h = msg_begin(&m, RTM_DELLINK, NLM_F_ACK, seq);
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  put(&m, &ifi, sizeof ifi);
  attr_str(&m, IFLA_IFNAME, e->veth);
  msg_end(&m, h);
  int err = transact(w->rt, &m, seq);
  if (err) die("RTM_DELLINK", err);
}

static void setup(struct worker *w, struct endpoint *e) {
  double t0 = now_us();
  e->setup_start = t0;
  if (opt_full) ns_create(e);
  else ns_attach(e);
  double t1 = now_us();
  veth_create(w, e);
  double t2 = now_us();
  ns_batch(e);
  double t3 = now_us();
  nft_element(w, e, 1);
  double t4 = now_us();
  e->setup[S_NS] = t1 - t0, e->setup[S_VETH] = t2 - t1, e->setup[S_NSBATCH] = t3 - t2;
  e->setup[S_PUBLISH] = t4 - t3, e->setup[S_TOTAL] = t4 - t0;
}

static void teardown(struct worker *w, struct endpoint *e) {
  double t0 = now_us();
  e->teardown_start = t0;
  nft_element(w, e, 0);
  double t1 = now_us();
  if (opt_full) {
    /* Drop every reference; the kernel's cleanup_net destroys devices in batches. */
    if (umount2(e->ns_path, MNT_DETACH) < 0) die("umount", errno);
    if (unlink(e->ns_path) < 0) die("unlink", errno);
  } else {
    veth_delete(w, e);
  }
  close(e->sk);
  close(e->nsfd);
  double t2 = now_us();
  e->teardown_end = t2;
  e->teardown[T_UNPUBLISH] = t1 - t0, e->teardown[T_DELETE] = t2 - t1, e->teardown[T_TOTAL] = t2 - t0;
}

/* ---- workers: T threads pull endpoints off a shared counter ----------------------- */

struct phase {
  void (*fn)(struct worker *, struct endpoint *);
  int next;
};

static void worker_open(struct worker *w) {
  w->rt = nl_socket(NETLINK_ROUTE);
  w->nf = nl_socket(NETLINK_NETFILTER);
  w->seq = 0;
}

static void *worker_main(void *arg) {
  struct phase *p = arg;
  struct worker w;
  worker_open(&w);
  for (;;) {
    int i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
    if (i >= opt_n) break;
    p->fn(&w, &eps[i]);
  }
  close(w.rt);
  close(w.nf);
  return NULL;
}

/* Runs fn over every endpoint with `threads` in flight; returns wall time in µs. */
static double run_phase(void (*fn)(struct worker *, struct endpoint *), int threads, struct worker *main_w) {
  struct phase p = {.fn = fn, .next = 0};
  double t0 = now_us();
  if (threads <= 1) {
    for (int i = 0; i < opt_n; i++) fn(main_w, &eps[i]);
  } else {
    pthread_t tids[256];
    if (threads > 256) threads = 256;
    for (int t = 0; t < threads; t++) {
      int err = pthread_create(&tids[t], NULL, worker_main, &p);
      if (err) die("pthread_create", err);
    }
    for (int t = 0; t < threads; t++) pthread_join(tids[t], NULL);
  }
  return now_us() - t0;
}

/* Polls until the kernel has released every host-side veth (namespace drop is async). */
static double wait_gone(double start) {
  int remaining = opt_n;
  for (int round = 0; remaining > 0 && round < 200000; round++) {
    remaining = 0;
    for (int i = 0; i < opt_n; i++) {
      if (eps[i].gone) continue;
      if (if_nametoindex(eps[i].veth) == 0) eps[i].gone = now_us();
      else remaining++;
    }
    if (remaining) usleep(200);
  }
  if (remaining) die("veths still present after teardown", ETIMEDOUT);
  double last = start;
  for (int i = 0; i < opt_n; i++)
    if (eps[i].gone > last) last = eps[i].gone;
  return last - start;
}

/* Attach mode: namespaces made (untimed) beforehand, as someone else would. */
static void prepare_namespaces(void) {
  for (int i = 0; i < opt_n; i++) {
    struct endpoint *e = &eps[i];
    if (mknod(e->ns_path, S_IFREG, 0) < 0) die(e->ns_path, errno);
    if (unshare(CLONE_NEWNET) < 0) die("unshare", errno);
    if (opt_no_ipv6) ipv6_off_by_default();
    if (mount("/proc/thread-self/ns/net", e->ns_path, "none", MS_BIND, NULL) < 0) die("mount", errno);
    if (setns(host_nsfd, CLONE_NEWNET) < 0) die("setns back", errno);
  }
}

static void remove_namespaces(void) {
  for (int i = 0; i < opt_n; i++) {
    umount2(eps[i].ns_path, MNT_DETACH);
    unlink(eps[i].ns_path);
  }
}

/* One round trip of a request the kernel acks without changing anything: lo is up already. */
static void roundtrips(void) {
  int fd = nl_socket(NETLINK_ROUTE);
  printf("{\"roundtripUs\":[");
  for (int i = 0; i < opt_roundtrip; i++) {
    struct buf m = {.len = 0};
    size_t h = msg_begin(&m, RTM_NEWLINK, NLM_F_ACK, i + 1);
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = 1, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
    put(&m, &ifi, sizeof ifi);
    msg_end(&m, h);
    double t0 = now_us();
    int err = transact(fd, &m, i + 1);
    double t1 = now_us();
    if (err) die("no-op RTM_NEWLINK lo", err);
    printf("%s%.2f", i ? "," : "", t1 - t0);
  }
  printf("]}\n");
  close(fd);
}

/* ---- output ----------------------------------------------------------------------- */

static void print_steps(const char *const *names, int count, int which) {
  printf("{");
  for (int s = 0; s < count; s++) {
    printf("%s\"%s\":[", s ? "," : "", names[s]);
    for (int i = 0; i < opt_n; i++) {
      double v = which ? eps[i].teardown[s] : eps[i].setup[s];
      printf("%s%.1f", i ? "," : "", v);
    }
    printf("]");
  }
  printf("}");
}

static int arg_int(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) {
    fprintf(stderr, "floor: %s needs a value\n", argv[*i]);
    exit(2);
  }
  return atoi(argv[++*i]);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--n")) opt_n = arg_int(argc, argv, &i);
    else if (!strcmp(a, "--mode") && i + 1 < argc) opt_full = !strcmp(argv[++i], "full");
    else if (!strcmp(a, "--setup-threads")) opt_setup_threads = arg_int(argc, argv, &i);
    else if (!strcmp(a, "--teardown-threads")) opt_teardown_threads = arg_int(argc, argv, &i);
    else if (!strcmp(a, "--no-ipv6")) opt_no_ipv6 = 1;
    else if (!strcmp(a, "--bridge") && i + 1 < argc) opt_bridge = argv[++i];
    else if (!strcmp(a, "--table") && i + 1 < argc) opt_table = argv[++i];
    else if (!strcmp(a, "--map") && i + 1 < argc) opt_map = argv[++i];
    else if (!strcmp(a, "--prefix") && i + 1 < argc) opt_prefix = argv[++i];
    else if (!strcmp(a, "--port-base")) opt_port_base = arg_int(argc, argv, &i);
    else if (!strcmp(a, "--first")) opt_first = arg_int(argc, argv, &i);
    else if (!strcmp(a, "--roundtrip")) opt_roundtrip = arg_int(argc, argv, &i);
    else if (!strcmp(a, "--one-queue")) opt_one_queue = 1;
    else {
      fprintf(stderr, "floor: unknown option %s\n", a);
      return 2;
    }
  }
  if (opt_roundtrip > 0) {
    roundtrips();
    return 0;
  }
  if (opt_n < 1 || opt_n > 60000) die("--n must be 1..60000", EINVAL);

  host_nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (host_nsfd < 0) die("open /proc/self/ns/net", errno);
  bridge_ifindex = if_nametoindex(opt_bridge);
  if (!bridge_ifindex) die(opt_bridge, errno);
  eps = calloc(opt_n, sizeof *eps);
  for (int i = 0; i < opt_n; i++) endpoint_init(&eps[i], i);
  if (!opt_full) prepare_namespaces();

  struct worker w;
  worker_open(&w);

  double cpu0 = cpu_us();
  double setup_wall = run_phase(setup, opt_setup_threads, &w);
  double cpu1 = cpu_us();
  double td_start = now_us();
  double teardown_wall = run_phase(teardown, opt_teardown_threads, &w);
  double cpu2 = cpu_us();
  double released = opt_full ? wait_gone(td_start) : teardown_wall;
  if (!opt_full) remove_namespaces();

  printf("{\"mode\":\"%s\",\"n\":%d,\"ipv6\":%s,", opt_full ? "full" : "attach", opt_n, opt_no_ipv6 ? "false" : "true");
  printf("\"setup\":{\"threads\":%d,\"wallUs\":%.1f,\"cpuUs\":%.1f,\"steps\":", opt_setup_threads, setup_wall, cpu1 - cpu0);
  print_steps(setup_steps, S_COUNT, 0);
  printf("},\"teardown\":{\"threads\":%d,\"wallUs\":%.1f,\"cpuUs\":%.1f,\"releasedUs\":%.1f,\"steps\":",
         opt_teardown_threads, teardown_wall, cpu2 - cpu1, released);
  print_steps(teardown_steps, T_COUNT, 1);
  printf("}}\n");
  return 0;
}
