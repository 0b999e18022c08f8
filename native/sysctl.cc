// sysctl read/write as seen from a namespace. /proc/sys/net resolves against the netns
// of the thread that opens the file, so a pool thread setns'es in for the open.
#include <fcntl.h>

#include "addon.h"
#include "errors.h"
#include "instance.h"
#include "netns.h"

namespace netplumb {

namespace {

class SysctlOp : public AsyncOp {
 public:
  SysctlOp(Fd ns, std::string path, std::optional<std::string> value)
      : ns_(std::move(ns)), path_("/proc/sys/" + path), value_(std::move(value)) {}

  void Execute() override {
    if (value_) {
      WriteSysctl(ns_.Get(), path_, *value_);
      return;
    }
    NetnsSwitch inside(ns_.Get());
    Fd file = OpenOrThrow(path_, O_RDONLY | O_CLOEXEC);
    char chunk[4096];
    for (;;) {
      ssize_t n = ::read(file.Get(), chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) ThrowErrno("read", path_);
      if (n == 0) break;
      result_.append(chunk, static_cast<size_t>(n));
    }
    while (!result_.empty() && result_.back() == '\n') result_.pop_back();
  }

  Napi::Value Result(Napi::Env env) override {
    if (value_) return env.Undefined();
    return Napi::String::New(env, result_);
  }

 private:
  Fd ns_;
  std::string path_;
  std::optional<std::string> value_;
  std::string result_;
};

}  // namespace

void WriteSysctl(int nsFd, const std::string& file, const std::string& value) {
  NetnsSwitch inside(nsFd);
  Fd f = OpenOrThrow(file, O_WRONLY | O_CLOEXEC);
  // One write: the kernel parses a sysctl value per write call.
  ssize_t n = ::write(f.Get(), value.data(), value.size());
  if (n < 0) ThrowErrno("write", file);
  if (static_cast<size_t>(n) != value.size()) throw Errno(EIO, "write", file);
}

bool IsSysctlKey(const std::string& path) {
  if (path.empty() || path.front() == '/') return false;
  size_t start = 0;
  for (;;) {
    size_t end = path.find('/', start);
    std::string part = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (end == std::string::npos) return true;
    start = end + 1;
  }
}

namespace {

Napi::Value Sysctl(const Napi::CallbackInfo& info, bool write) {
  int ns = ArgInt(info, 0, "nsFd");
  std::string path = ArgString(info, 1, "path");
  std::optional<std::string> value;
  if (write) value = ArgString(info, 2, "value");
  return Instance::Of(info.Env())->Start(info.Env(), [&] {
    // Keys only: nothing may escape /proc/sys. Checked per component, since an
    // interface name such as "a..b" is valid in net/ipv4/conf/a..b/forwarding.
    if (!IsSysctlKey(path)) throw Errno(EINVAL, write ? "sysctlWrite" : "sysctlRead", path);
    // The op owns its namespace fd: a dup of the caller's, or (nsFd < 0) the calling
    // thread's namespace as it is now, which is what "the caller's own" means even
    // inside runIn. Pool threads themselves may be in any namespace.
    Fd target = ns < 0 ? CurrentNetns() : DupOrThrow(ns);
    return std::make_unique<SysctlOp>(std::move(target), path, std::move(value));
  });
}

}  // namespace

Napi::Value SysctlRead(const Napi::CallbackInfo& info) { return Sysctl(info, false); }
Napi::Value SysctlWrite(const Napi::CallbackInfo& info) { return Sysctl(info, true); }

}  // namespace netplumb
