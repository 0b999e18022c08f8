#include "netns.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cstdio>
#include <mutex>
#include <set>

#include "errors.h"
#include "instance.h"
#include "monitor.h"

namespace netplumb {

namespace {

constexpr const char* kThreadNetns = "/proc/thread-self/ns/net";

// What `ip netns add`/`attach` do before the bind mount (netns_add in iproute2's
// ip/ipnetns.c): make the parent directory a shared mount point, so that unmounting the
// file in one mount namespace unmounts it in all and the namespace can be freed, then
// create the mount point file exclusively (EEXIST if the name is taken).
// Once per directory and process: remounting it shared on every create (as `ip netns
// add`, a one-shot program, does) costs a mount syscall that serialises on the mount lock.
void MakeSharedDir(const std::string& dir) {
  static std::mutex mu;
  static std::set<std::string> done;
  std::lock_guard<std::mutex> lock(mu);
  if (done.count(dir)) return;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) ThrowErrno("mkdir", dir);
  bool madeMountPoint = false;
  while (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0) {
    // EINVAL: dir is not a mount point yet; make it one by binding it onto itself.
    if (errno != EINVAL || madeMountPoint) ThrowErrno("mount", dir);
    if (::mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0) ThrowErrno("mount", dir);
    madeMountPoint = true;
  }
  done.insert(dir);
}

// Creates the mount point file exclusively (EEXIST if the name is taken) and returns it
// flock()ed: the lock, held until the namespace is mounted on it (the caller closes the
// fd then), tells a cleanup in any process that the unmounted file is a create in flight,
// however long the unshare or mount takes; a crash drops the lock with the process. A
// cleanup that removed the file between our open and our flock leaves it unlinked: then
// the name is taken again.
Fd MakeMountPoint(const std::string& path) {
  size_t slash = path.rfind('/');
  MakeSharedDir(slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash));
  for (;;) {
    Fd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
    if (!file) ThrowErrno("open", path);
    if (::flock(file.Get(), LOCK_EX) != 0) {
      int e = errno;
      ::unlink(path.c_str());
      throw Errno(e, "flock", path);
    }
    struct stat st;
    if (::fstat(file.Get(), &st) != 0) ThrowErrno("fstat", path);
    if (st.st_nlink > 0) return file;
  }
}

// Bind-mounts source on the mount point file at path. Callers remove the file on
// failure (once: a second unlink could hit a file someone else has made since).
void BindNetns(const std::string& source, const std::string& path) {
  if (::mount(source.c_str(), path.c_str(), "none", MS_BIND, nullptr) != 0) ThrowErrno("mount", path);
}

// Throws unless fd refers to a network namespace: EBADF for a bad fd, EINVAL for
// anything else (ENOTTY from a regular file, another namespace type).
void CheckNetns(int fd, const std::string& path) {
  int type = ::ioctl(fd, NS_GET_NSTYPE);
  if (type < 0 && errno == EBADF) ThrowErrno("ioctl", path);
  if (type != CLONE_NEWNET) throw Errno(EINVAL, "ioctl", path);
}

class NetnsCreateOp : public AsyncOp {
 public:
  explicit NetnsCreateOp(std::optional<std::string> path) : path_(std::move(path)) {}

  void Execute() override {
    Fd mountPoint;
    if (path_) mountPoint = MakeMountPoint(*path_);
    try {
      Fd home = CurrentNetns();
      // unshare affects only this pool thread; it goes back home below.
      if (::unshare(CLONE_NEWNET) != 0) ThrowErrno("unshare");
      NetnsReturn back(std::move(home));
      ns_ = OpenOrThrow(kThreadNetns, O_RDONLY | O_CLOEXEC);
      if (path_) BindNetns(kThreadNetns, *path_);
    } catch (...) {
      if (path_) ::unlink(path_->c_str());
      throw;
    }
  }

  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, ns_.Release()); }

 private:
  std::optional<std::string> path_;
  Fd ns_;  // closed if the env died before the promise could take it
};

class NetnsUnmountOp : public AsyncOp {
 public:
  explicit NetnsUnmountOp(std::string path) : path_(std::move(path)) {}
  void Execute() override {
    // MNT_DETACH as `ip netns del`: processes still using the namespace keep it alive.
    // EINVAL means "not a mount point": a file left by a crash between create and bind,
    // which unlink still has to remove.
    if (::umount2(path_.c_str(), MNT_DETACH) != 0 && errno != EINVAL) ThrowErrno("umount2", path_);
    if (::unlink(path_.c_str()) != 0) ThrowErrno("unlink", path_);
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::string path_;
};

}  // namespace

Fd CurrentNetns() { return OpenOrThrow(kThreadNetns, O_RDONLY | O_CLOEXEC); }

NetnsReturn::~NetnsReturn() {
  if (::setns(home_.Get(), CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "netplumb: cannot return thread to its network namespace: setns: %s; aborting\n",
                 std::strerror(errno));
    std::abort();
  }
}

NetnsSwitch::NetnsSwitch(int nsFd) {
  if (nsFd < 0) return;
  Fd home = CurrentNetns();
  // Already there: no setns, which also lets callers without CAP_SYS_ADMIN work in
  // their own namespace (e.g. read links, or get EPERM from the kernel for a change).
  struct stat a, b;
  if (::fstat(home.Get(), &a) == 0 && ::fstat(nsFd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) return;
  if (::setns(nsFd, CLONE_NEWNET) != 0) ThrowErrno("setns");
  back_.emplace(std::move(home));
}

Napi::Value NetnsCreate(const Napi::CallbackInfo& info) {
  std::optional<std::string> path;
  if (!info[0].IsNull() && !info[0].IsUndefined()) path = ArgString(info, 0, "mountPath");
  return Instance::Of(info.Env())->Start(info.Env(), [&] { return std::make_unique<NetnsCreateOp>(path); });
}

Napi::Value NetnsMount(const Napi::CallbackInfo& info) {
  int ns = ArgInt(info, 0, "nsFd");
  std::string path = ArgString(info, 1, "mountPath");
  Translate(info.Env(), [&] {
    // Refuse to publish something that is not a network namespace under /run/netns.
    CheckNetns(ns, path);
    Fd mountPoint = MakeMountPoint(path);
    try {
      BindNetns("/proc/thread-self/fd/" + std::to_string(ns), path);
    } catch (...) {
      ::unlink(path.c_str());
      throw;
    }
  });
  return info.Env().Undefined();
}

Napi::Value NetnsRemoveStale(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "mountPath");
  bool remove = info[1].ToBoolean();
  bool removed = false;
  Translate(info.Env(), [&] {
    Fd file(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    // Gone, or not a plain file: nothing of ours to remove.
    if (!file) return;
    // Held: a create in flight (MakeMountPoint).
    if (::flock(file.Get(), LOCK_EX | LOCK_NB) != 0) return;
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    struct stat f, p, d;
    if (::fstat(file.Get(), &f) != 0 || ::lstat(path.c_str(), &p) != 0 || ::stat(dir.c_str(), &d) != 0) return;
    // A mounted namespace shows nsfs's device, not the directory's; and the name must still
    // be this file.
    if (!S_ISREG(f.st_mode) || f.st_size != 0 || f.st_nlink == 0 || f.st_dev != d.st_dev || p.st_dev != f.st_dev || p.st_ino != f.st_ino) return;
    if (remove && ::unlink(path.c_str()) != 0) ThrowErrno("unlink", path);
    removed = true;
  });
  return Napi::Boolean::New(info.Env(), removed);
}

Napi::Value NetnsUnmount(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "mountPath");
  // On a pool thread: umount2 waits for the mount lock and can take tens of ms.
  return Instance::Of(info.Env())->Start(info.Env(), [&] { return std::make_unique<NetnsUnmountOp>(path); });
}

Napi::Value NetnsOpen(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "path");
  return Translate(info.Env(), [&] {
    Fd fd = OpenOrThrow(path, O_RDONLY | O_CLOEXEC);
    CheckNetns(fd.Get(), path);
    return Napi::Number::New(info.Env(), fd.Release());
  });
}

Napi::Value NetnsCurrent(const Napi::CallbackInfo& info) {
  return Translate(info.Env(), [&] { return Napi::Number::New(info.Env(), CurrentNetns().Release()); });
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd");
  Instance* inst = Instance::Of(info.Env());
  // A monitor's socket is watched by a uv_poll: closing it under the poll's feet would
  // leave libuv watching a dead (or reused) fd, so treat it as monitorClose.
  auto it = inst->monitors.find(fd);
  if (it != inst->monitors.end()) {
    CloseMonitor(inst, it->second);
    return info.Env().Undefined();
  }
  Translate(info.Env(), [&] {
    if (::close(fd) != 0 && errno != EINTR) ThrowErrno("close");
  });
  return info.Env().Undefined();
}

Napi::Value RunIn(const Napi::CallbackInfo& info) {
  int ns = ArgInt(info, 0, "nsFd");
  Napi::Function fn = ArgFunction(info, 1, "fn");
  std::optional<NetnsSwitch> inside;
  Translate(info.Env(), [&] { inside.emplace(ns); });
  // If fn throws, Napi::Error unwinds through `inside`, which returns the thread home
  // before the exception reaches JS.
  return fn.Call(info.Env().Undefined(), {});
}

}  // namespace netplumb
