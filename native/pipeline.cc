// Several netlink exchanges and sysctl writes, possibly in different namespaces, run in
// order by one addon thread: the endpoint hot path (veth in the host, configuration in
// the container, published ports in nftables) costs one thread hop and one N-API
// crossing instead of one per step. The first step the kernel refuses ends the run.
//
// A step in a namespace (a sysctl, or a batch on a socket opened there for it) moves the
// thread in; it stays there until a step needs another namespace, since a socket answers
// in the namespace it was made in whatever the thread's: a namespace's sysctl and batch,
// and steps on the host's sockets between them, cost one pair of setns.
#include <linux/netlink.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <variant>
#include <vector>

#include "addon.h"
#include "errors.h"
#include "instance.h"
#include "netlink_socket.h"
#include "netns.h"

namespace netplumb {

namespace {

struct NetlinkStep {
  // Borrowed, not a dup: the caller lends the socket for the whole run (NetlinkConnection
  // acquire ... release around the promise) and closes it only after it settles. A dup and
  // its close per step were two syscalls on the JS thread each, on the endpoint hot path.
  int fd;
  std::vector<uint8_t> request;
  std::vector<uint32_t> expect;
};

struct SysctlStep {
  Fd ns;
  std::string file;
  std::string value;
};

// A batch on a socket opened in the namespace for it and closed after: nothing to open
// on the JS thread, and nothing held between runs.
struct NetnsNetlinkStep {
  Fd ns;
  int protocol;
  std::vector<uint8_t> request;
  std::vector<uint32_t> expect;
};

using Step = std::variant<NetlinkStep, SysctlStep, NetnsNetlinkStep>;

// The namespace the running thread was moved into for the steps, kept across steps.
class Inside {
 public:
  void Enter(const Fd& ns) {
    struct stat st;
    if (::fstat(ns.Get(), &st) != 0) ThrowErrno("fstat");
    if (in_ && st.st_dev == dev_ && st.st_ino == ino_) return;
    in_.reset();
    in_ = std::make_unique<NetnsSwitch>(ns.Get());
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  }

 private:
  std::unique_ptr<NetnsSwitch> in_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

// Whether a reply holds an NLMSG_ERROR (or a dump's NLMSG_DONE) carrying a negative error.
bool Refused(const ByteBuf& reply) {
  const uint8_t* p = reply.Data();
  size_t n = reply.Size(), off = 0;
  while (off + sizeof(nlmsghdr) <= n) {
    nlmsghdr h;
    std::memcpy(&h, p + off, sizeof h);
    if (h.nlmsg_len < sizeof h || h.nlmsg_len > n - off) return false;
    if ((h.nlmsg_type == NLMSG_ERROR || h.nlmsg_type == NLMSG_DONE) && h.nlmsg_len >= sizeof h + sizeof(int32_t)) {
      int32_t err;
      std::memcpy(&err, p + off + sizeof h, sizeof err);
      if (err < 0) return true;
    }
    off += NLMSG_ALIGN(h.nlmsg_len);
  }
  return false;
}

class PipelineOp : public AsyncOp {
 public:
  explicit PipelineOp(std::vector<Step> steps) : steps_(std::move(steps)) {}

  void Execute() override {
    results_.resize(steps_.size());
    durationsMs_.assign(steps_.size(), 0);
    Inside inside;
    for (size_t i = 0; i < steps_.size(); i++) {
      // Timed per step (two clock reads, nanoseconds) for the diagnostics channel.
      auto start = std::chrono::steady_clock::now();
      struct Stamp {
        double& out;
        std::chrono::steady_clock::time_point start;
        ~Stamp() { out = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count(); }
      } stamp{durationsMs_[i], start};
      try {
        ByteBuf reply;
        if (auto* s = std::get_if<SysctlStep>(&steps_[i])) {
          inside.Enter(s->ns);
          WriteSysctl(-1, s->file, s->value);
          results_[i] = Written{};
          continue;
        } else if (auto* n = std::get_if<NetnsNetlinkStep>(&steps_[i])) {
          inside.Enter(n->ns);
          Fd socket = OpenNetlink(n->protocol, -1, 0, false);
          reply = Transact(socket.Get(), n->request.data(), n->request.size(), n->expect.data(), n->expect.size());
        } else {
          auto& nl = std::get<NetlinkStep>(steps_[i]);
          reply = Transact(nl.fd, nl.request.data(), nl.request.size(), nl.expect.data(), nl.expect.size());
        }
        bool refused = Refused(reply);
        results_[i] = std::move(reply);
        if (refused) return;
      } catch (const Errno& e) {
        results_[i] = e;
        return;
      }
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, results_.size());
    for (size_t i = 0; i < results_.size(); i++) {
      Napi::Value v = env.Null();
      if (auto* buf = std::get_if<ByteBuf>(&results_[i])) v = ToBuffer(env, std::move(*buf));
      else if (std::holds_alternative<Written>(results_[i])) v = Napi::Boolean::New(env, true);
      else if (auto* e = std::get_if<Errno>(&results_[i])) v = SystemErrorValue(env, *e);
      out.Set(static_cast<uint32_t>(i), v);
    }
    Napi::Float64Array ms = Napi::Float64Array::New(env, durationsMs_.size());
    for (size_t i = 0; i < durationsMs_.size(); i++) ms[i] = durationsMs_[i];
    out.Set("durationsMs", ms);
    return out;
  }

 private:
  struct Written {};
  std::vector<Step> steps_;
  // monostate: not run.
  std::vector<std::variant<std::monostate, ByteBuf, Written, Errno>> results_;
  // Milliseconds each step took on the addon thread; 0 for a step that did not run.
  std::vector<double> durationsMs_;
};

}  // namespace

Napi::Value Pipeline(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw InvalidArgument(env, "steps", "must be an array");
  Napi::Array arr = info[0].As<Napi::Array>();
  // Read and check every argument on the JS thread before anything runs.
  struct Raw {
    bool sysctl;
    bool inNetns;
    int fd;
    int protocol;
    std::vector<uint8_t> request;
    std::vector<uint32_t> expect;
    std::string path, value;
  };
  std::vector<Raw> raw;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsObject()) throw InvalidArgument(env, "steps", "each step must be an object");
    Napi::Object o = v.As<Napi::Object>();
    Raw r{};
    if (o.Has("path")) {
      Napi::Value ns = o.Get("nsFd"), path = o.Get("path"), value = o.Get("value");
      if (!ns.IsNumber() || !path.IsString() || !value.IsString())
        throw InvalidArgument(env, "steps", "a sysctl step needs nsFd (number), path and value (strings)");
      r.sysctl = true;
      r.fd = ns.As<Napi::Number>().Int32Value();
      r.path = path.As<Napi::String>().Utf8Value();
      r.value = value.As<Napi::String>().Utf8Value();
    } else {
      // fd: a socket the caller lends; nsFd and protocol: a socket made in that namespace.
      r.inNetns = o.Has("nsFd");
      Napi::Value fd = o.Get(r.inNetns ? "nsFd" : "fd"), request = o.Get("request"), expect = o.Get("expect");
      Napi::Value protocol = r.inNetns ? o.Get("protocol") : Napi::Number::New(env, 0);
      if (!fd.IsNumber() || !protocol.IsNumber() || !request.IsBuffer() || !expect.IsTypedArray() ||
          expect.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
        throw InvalidArgument(env, "steps", "a netlink step needs fd or nsFd and protocol (numbers), request (Buffer) and expect (Uint32Array)");
      auto req = request.As<Napi::Buffer<uint8_t>>();
      auto exp = expect.As<Napi::Uint32Array>();
      r.fd = fd.As<Napi::Number>().Int32Value();
      r.protocol = protocol.As<Napi::Number>().Int32Value();
      r.request.assign(req.Data(), req.Data() + req.Length());
      r.expect.assign(exp.Data(), exp.Data() + exp.ElementLength());
    }
    raw.push_back(std::move(r));
  }
  return Instance::Of(env)->Start(env, [&] {
    std::vector<Step> steps;
    steps.reserve(raw.size());
    for (Raw& r : raw) {
      if (r.sysctl) {
        if (!IsSysctlKey(r.path)) throw Errno(EINVAL, "pipeline", r.path);
        steps.emplace_back(SysctlStep{r.fd < 0 ? CurrentNetns() : DupOrThrow(r.fd), "/proc/sys/" + r.path, std::move(r.value)});
      } else if (r.inNetns) {
        steps.emplace_back(NetnsNetlinkStep{r.fd < 0 ? CurrentNetns() : DupOrThrow(r.fd), r.protocol, std::move(r.request), std::move(r.expect)});
      } else {
        steps.emplace_back(NetlinkStep{r.fd, std::move(r.request), std::move(r.expect)});
      }
    }
    return std::make_unique<PipelineOp>(std::move(steps));
  });
}

}  // namespace netplumb
