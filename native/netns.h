// Network namespaces: moving a thread in and out, and creating/mounting/opening them.
#pragma once

#include <napi.h>

#include <optional>

#include "sys.h"

namespace netplumb {

// fd of the calling thread's network namespace (/proc/thread-self: per thread, which is
// what setns changes; /proc/self would name the main thread's).
Fd CurrentNetns();

// Returns the calling thread to `home` when destroyed. Failing to return aborts the
// process: a thread silently left in another namespace would corrupt every later
// operation done on it (JS thread or pool thread alike).
class NetnsReturn {
 public:
  explicit NetnsReturn(Fd home) : home_(std::move(home)) {}
  NetnsReturn(const NetnsReturn&) = delete;
  NetnsReturn& operator=(const NetnsReturn&) = delete;
  ~NetnsReturn();

 private:
  Fd home_;
};

// Puts the calling thread into namespace nsFd for the object's lifetime (nsFd < 0: the
// thread stays where it is). setns into a network namespace is allowed for one thread
// of a multi-threaded process and takes microseconds.
class NetnsSwitch {
 public:
  explicit NetnsSwitch(int nsFd);

 private:
  std::optional<NetnsReturn> back_;
};

Napi::Value NetnsCreate(const Napi::CallbackInfo& info);
Napi::Value NetnsMount(const Napi::CallbackInfo& info);
Napi::Value NetnsUnmount(const Napi::CallbackInfo& info);
Napi::Value NetnsRemoveStale(const Napi::CallbackInfo& info);
Napi::Value NetnsOpen(const Napi::CallbackInfo& info);
Napi::Value NetnsCurrent(const Napi::CallbackInfo& info);
Napi::Value Close(const Napi::CallbackInfo& info);
Napi::Value RunIn(const Napi::CallbackInfo& info);

}  // namespace netplumb
