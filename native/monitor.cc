#include "monitor.h"

#include <linux/netlink.h>
#include <sys/socket.h>

#include <vector>

#include "errors.h"
#include "instance.h"
#include "netlink_socket.h"

namespace netplumb {

namespace {

// Bounds on one wake-up, so an event storm cannot starve the rest of the loop; the poll
// is level-triggered and fires again for what is left.
constexpr size_t kMaxDatagramsPerWake = 1024;
constexpr size_t kMaxBytesPerWake = 4 << 20;

// Calls onData(data, errno) through napi_make_callback, so microtasks run after it.
// If onData throws, the exception goes where any exception thrown from an event
// callback goes ('uncaughtException'); if JS cannot run (a worker being terminated),
// the event is dropped. Nothing may throw out of the libuv callback.
void Deliver(Monitor* m, napi_value data, int err) {
  napi_env env = m->env;
  napi_value fn, global, argv[2], result;
  if (napi_get_reference_value(env, m->onData, &fn) != napi_ok || !fn) return;
  if (napi_get_global(env, &global) != napi_ok || napi_create_int32(env, err, &argv[1]) != napi_ok) return;
  argv[0] = data;
  napi_status status = napi_make_callback(env, m->context, global, fn, 2, argv, &result);
  bool pending = false;
  if (status != napi_ok && napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value exception;
    if (napi_get_and_clear_last_exception(env, &exception) == napi_ok) napi_fatal_exception(env, exception);
  }
}

// Opens a handle scope without throwing (see Deliver).
class RawHandleScope {
 public:
  explicit RawHandleScope(napi_env env) : env_(env) { ok_ = napi_open_handle_scope(env, &scope_) == napi_ok; }
  ~RawHandleScope() {
    if (ok_) napi_close_handle_scope(env_, scope_);
  }
  bool ok() const { return ok_; }

 private:
  napi_env env_;
  napi_handle_scope scope_;
  bool ok_;
};

void DeliverData(Monitor* m, ByteBuf& buf) {
  if (buf.Empty() || m->closed) return;
  RawHandleScope scope(m->env);
  if (!scope.ok()) return;
  napi_value data;
  try {
    data = ToBuffer(Napi::Env(m->env), std::move(buf));
  } catch (...) {
    return;
  }
  buf = ByteBuf();
  Deliver(m, data, 0);
}

void DeliverError(Monitor* m, int err) {
  if (m->closed) return;
  RawHandleScope scope(m->env);
  napi_value null;
  if (!scope.ok() || napi_get_null(m->env, &null) != napi_ok) return;
  Deliver(m, null, err);
}

void OnReadable(uv_poll_t* handle, int status, int) {
  auto* m = static_cast<Monitor*>(handle->data);
  bool lost = false;
  if (status < 0) {
    // libuv turns POLLERR into UV_EBADF and stops the poll. On a netlink socket POLLERR
    // means a pending socket error, normally ENOBUFS after an overflow, which is not
    // fatal: take it (SO_ERROR clears it), resume polling and read on.
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(m->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0 && err != ENOBUFS) return DeliverError(m, err);
    lost = err == ENOBUFS;
    int rc = uv_poll_start(handle, UV_READABLE, OnReadable);
    if (rc < 0) return DeliverError(m, -rc);
  }
  ByteBuf buf;
  size_t count = 0;
  // No JS runs inside this loop, so the fd stays open until it ends. The Deliver*
  // helpers check m->closed: onData may call monitorClose (m itself lives on until
  // uv_close's callback).
  while (count < kMaxDatagramsPerWake && buf.Size() < kMaxBytesPerWake) {
    ssize_t n = RecvDatagram(m->fd, buf);
    if (n >= 0) {
      ++count;
    } else if (n == -EAGAIN) {
      break;
    } else if (n == -ENOBUFS) {
      lost = true;
    } else {
      uv_poll_stop(handle);
      DeliverData(m, buf);
      return DeliverError(m, static_cast<int>(-n));
    }
  }
  // What was queued is older than the overflow that lost events, so it goes first; a
  // listener then resynchronises (dumps) knowing it has seen everything still queued.
  DeliverData(m, buf);
  if (lost) DeliverError(m, ENOBUFS);
}

}  // namespace

void CloseMonitor(Instance* instance, Monitor* m) {
  instance->monitors.erase(m->fd);
  m->closed = true;
  m->onData.Reset();
  // uv_close stops the poll and takes the fd out of epoll at once, so closing the fd
  // right after is safe even though the handle finishes closing later.
  uv_close(reinterpret_cast<uv_handle_t*>(&m->poll), [](uv_handle_t* h) { delete static_cast<Monitor*>(h->data); });
  ::close(m->fd);
}

Napi::Value MonitorOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int protocol = ArgInt(info, 0, "protocol");
  int ns = ArgInt(info, 1, "nsFd");
  if (!info[2].IsArray()) throw InvalidArgument(env, "groups", "must be an array of numbers");
  Napi::Array list = info[2].As<Napi::Array>();
  std::vector<int> groups;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value g = list[i];
    double d = g.IsNumber() ? g.As<Napi::Number>().DoubleValue() : 0;
    if (!(d >= 1 && d <= INT32_MAX && d == static_cast<int>(d)))
      throw InvalidArgument(env, "groups", "must be positive integers");
    groups.push_back(static_cast<int>(d));
  }
  int bytes = ArgInt(info, 3, "bufferBytes");
  Napi::Function onData = ArgFunction(info, 4, "onData");
  Instance* inst = Instance::Of(env);

  Fd fd = Translate(env, [&] {
    Fd s = OpenNetlink(protocol, ns, bytes, true);
    for (int g : groups)
      if (::setsockopt(s.Get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) != 0) ThrowErrno("setsockopt");
    return s;
  });
  auto m = std::make_unique<Monitor>();
  int rc = uv_poll_init(inst->loop, &m->poll, fd.Get());
  if (rc < 0) throw Napi::Error(env, SystemErrorValue(env, Errno(-rc, "uv_poll_init")));
  m->poll.data = m.get();
  m->fd = fd.Release();
  m->env = env;
  m->onData = Napi::Persistent(onData);
  m->context = inst->Context();
  // An active poll keeps the loop alive until monitorClose.
  rc = uv_poll_start(&m->poll, UV_READABLE, OnReadable);
  Monitor* raw = m.release();  // from here on freed only through uv_close
  inst->monitors[raw->fd] = raw;
  if (rc < 0) {
    CloseMonitor(inst, raw);
    throw Napi::Error(env, SystemErrorValue(env, Errno(-rc, "uv_poll_start")));
  }
  return Napi::Number::New(env, raw->fd);
}

Napi::Value MonitorClose(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd");
  Instance* inst = Instance::Of(info.Env());
  auto it = inst->monitors.find(fd);
  if (it == inst->monitors.end())
    throw Napi::Error(info.Env(), SystemErrorValue(info.Env(), Errno(EBADF, "monitorClose")));
  CloseMonitor(inst, it->second);
  return info.Env().Undefined();
}

}  // namespace netplumb
