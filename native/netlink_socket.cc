#include "netlink_socket.h"

#include <linux/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "errors.h"
#include "instance.h"
#include "netns.h"

namespace netplumb {

namespace {

// Kernel datagrams are at most ~32 KiB for dumps and rarely much more for single
// messages; 1 MiB leaves a wide margin. Per thread, so it costs address space only.
constexpr size_t kRecvScratch = 1 << 20;
// Results up to this size are copied into a fresh Buffer; larger ones are handed over.
constexpr size_t kCopyLimit = 64 * 1024;

void SetOpt(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) ThrowErrno(what);
}

// The FORCE variants exceed net.core.[rw]mem_max (needs CAP_NET_ADMIN); without the
// capability fall back to the capped ones. A big send buffer matters: netlink refuses a
// sendmsg longer than sndbuf - 32 with EMSGSIZE, which limits batch size.
void SetBuffer(int fd, int force, int plain, int bytes) {
  if (::setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof bytes) == 0) return;
  if (errno != EPERM) ThrowErrno("setsockopt");
  SetOpt(fd, SOL_SOCKET, plain, bytes, "setsockopt");
}

// Sorted expected sequence numbers, each ticked off by its NLMSG_ERROR or NLMSG_DONE.
class Expected {
 public:
  Expected(const uint32_t* seqs, size_t n) : seqs_(seqs, seqs + n) {
    std::sort(seqs_.begin(), seqs_.end());
    seqs_.erase(std::unique(seqs_.begin(), seqs_.end()), seqs_.end());
    seen_.assign(seqs_.size(), false);
    left_ = seqs_.size();
  }
  bool Complete() const { return left_ == 0; }
  // Walks the headers of one datagram; other sequence numbers are passed through.
  void Scan(const uint8_t* p, size_t n) {
    size_t off = 0;
    while (off + sizeof(nlmsghdr) <= n) {
      nlmsghdr h;
      std::memcpy(&h, p + off, sizeof h);
      if (h.nlmsg_len < sizeof h || h.nlmsg_len > n - off) return;
      if (h.nlmsg_type == NLMSG_ERROR || h.nlmsg_type == NLMSG_DONE) {
        auto it = std::lower_bound(seqs_.begin(), seqs_.end(), h.nlmsg_seq);
        if (it != seqs_.end() && *it == h.nlmsg_seq && !seen_[it - seqs_.begin()]) {
          seen_[it - seqs_.begin()] = true;
          --left_;
        }
      }
      off += NLMSG_ALIGN(h.nlmsg_len);
    }
  }

 private:
  std::vector<uint32_t> seqs_;
  std::vector<bool> seen_;
  size_t left_;
};

class TransactOp : public AsyncOp {
 public:
  TransactOp(Fd fd, std::vector<uint8_t> request, std::vector<uint32_t> expect)
      : fd_(std::move(fd)), request_(std::move(request)), expect_(std::move(expect)) {}
  void Execute() override {
    reply_ = Transact(fd_.Get(), request_.data(), request_.size(), expect_.data(), expect_.size());
    fd_.Reset();
  }
  Napi::Value Result(Napi::Env env) override { return ToBuffer(env, std::move(reply_)); }

 private:
  Fd fd_;  // a dup: stays valid even if JS closes its fd meanwhile
  std::vector<uint8_t> request_;
  std::vector<uint32_t> expect_;
  ByteBuf reply_;
};

struct TransactArgs {
  int fd;
  const uint8_t* request;
  size_t length;
  const uint32_t* expect;
  size_t count;
};

TransactArgs ReadTransactArgs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd");
  if (!info[1].IsBuffer()) throw InvalidArgument(env, "request", "must be a Buffer");
  if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
    throw InvalidArgument(env, "expect", "must be a Uint32Array");
  auto request = info[1].As<Napi::Buffer<uint8_t>>();
  auto expect = info[2].As<Napi::Uint32Array>();
  return {fd, request.Data(), request.Length(), expect.Data(), expect.ElementLength()};
}

}  // namespace

// The whole exchange. Runs on a pool thread or (Sync) on the JS thread.
ByteBuf Transact(int fd, const uint8_t* request, size_t length, const uint32_t* expect, size_t count) {
  Expected expected(expect, count);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  iovec iov{const_cast<uint8_t*>(request), length};
  msghdr msg{};
  msg.msg_name = &kernel;
  msg.msg_namelen = sizeof kernel;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  // The kernel processes netlink requests synchronously inside sendmsg (link deletion
  // can sit here ~20 ms waiting for RCU), queueing every reply before it returns.
  ssize_t sent;
  do sent = ::sendmsg(fd, &msg, 0);
  while (sent < 0 && errno == EINTR);
  if (sent < 0) ThrowErrno("sendmsg");

  ByteBuf out;
  while (!expected.Complete()) {
    size_t before = out.Size();
    ssize_t n = RecvDatagram(fd, out);
    // A running dump queues its next part inside each recvmsg, so an empty queue means
    // the kernel has said everything it will. ENOBUFS: replies were lost, and the
    // caller must know rather than wait for them.
    if (n == -EAGAIN) break;
    if (n < 0) throw Errno(static_cast<int>(-n), "recvmsg");
    expected.Scan(out.Data() + before, static_cast<size_t>(n));
  }
  return out;
}

Fd OpenNetlink(int protocol, int nsFd, int bufferBytes, bool nonblocking) {
  Fd fd;
  {
    // A socket belongs for life to the namespace it was created in: setns spans only
    // the socket() call.
    NetnsSwitch inside(nsFd);
    int s = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), protocol);
    if (s < 0) ThrowErrno("socket");
    fd.Reset(s);
  }
  SetOpt(fd.Get(), SOL_NETLINK, NETLINK_EXT_ACK, 1, "setsockopt");
  SetOpt(fd.Get(), SOL_NETLINK, NETLINK_CAP_ACK, 1, "setsockopt");
  SetOpt(fd.Get(), SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1, "setsockopt");
  if (bufferBytes > 0) {
    SetBuffer(fd.Get(), SO_RCVBUFFORCE, SO_RCVBUF, bufferBytes);
    SetBuffer(fd.Get(), SO_SNDBUFFORCE, SO_SNDBUF, bufferBytes);
  }
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;  // nl_pid 0: the kernel assigns a unique port id
  if (::bind(fd.Get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) ThrowErrno("bind");
  return fd;
}

ssize_t RecvDatagram(int fd, ByteBuf& out) {
  static thread_local std::unique_ptr<uint8_t[]> scratch;
  if (!scratch) scratch.reset(new uint8_t[kRecvScratch]);  // not zeroed: no page touched
  sockaddr_nl from{};
  iovec iov{scratch.get(), kRecvScratch};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ssize_t n;
  // MSG_TRUNC makes recvmsg report the datagram's real length.
  do n = ::recvmsg(fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  if (static_cast<size_t>(n) > kRecvScratch) return -EMSGSIZE;  // the rest is lost
  // Only root may unicast to us from user space; still, a forged reply must not be
  // able to complete a transaction.
  if (from.nl_pid != 0) return 0;
  size_t before = out.Size();
  out.AppendPadded(scratch.get(), static_cast<size_t>(n));
  return static_cast<ssize_t>(out.Size() - before);
}

Napi::Value ToBuffer(Napi::Env env, ByteBuf&& out) {
  if (out.Empty()) return Napi::Buffer<uint8_t>::New(env, 0);
  if (out.Size() <= kCopyLimit) return Napi::Buffer<uint8_t>::Copy(env, out.Data(), out.Size());
  size_t size = out.Size();
  uint8_t* data = out.Release();
  return Napi::Buffer<uint8_t>::NewOrCopy(env, data, size, [](Napi::Env, uint8_t* p) { std::free(p); });
}

Napi::Value NetlinkOpen(const Napi::CallbackInfo& info) {
  int protocol = ArgInt(info, 0, "protocol");
  int ns = ArgInt(info, 1, "nsFd");
  int bytes = ArgInt(info, 2, "bufferBytes");
  return Translate(info.Env(), [&] {
    return Napi::Number::New(info.Env(), OpenNetlink(protocol, ns, bytes, false).Release());
  });
}

Napi::Value NetlinkPortId(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd");
  return Translate(info.Env(), [&] {
    sockaddr_nl local{};
    socklen_t len = sizeof local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) ThrowErrno("getsockname");
    if (local.nl_family != AF_NETLINK) throw Errno(ENOTSOCK, "getsockname");
    return Napi::Number::New(info.Env(), local.nl_pid);
  });
}

Napi::Value NetlinkTransact(const Napi::CallbackInfo& info) {
  TransactArgs a = ReadTransactArgs(info);
  return Instance::Of(info.Env())->Start(info.Env(), [&] {
    // Copies: JS may reuse or mutate its buffers as soon as this call returns.
    return std::make_unique<TransactOp>(DupOrThrow(a.fd), std::vector<uint8_t>(a.request, a.request + a.length),
                                        std::vector<uint32_t>(a.expect, a.expect + a.count));
  });
}

Napi::Value NetlinkTransactSync(const Napi::CallbackInfo& info) {
  TransactArgs a = ReadTransactArgs(info);
  return Translate(info.Env(),
                   [&] { return ToBuffer(info.Env(), Transact(a.fd, a.request, a.length, a.expect, a.count)); });
}

}  // namespace netplumb
