// The addon's own thread pool. libuv's pool has 4 threads shared with fs and dns, but a
// link deletion sits ~20 ms in sendmsg waiting for RCU and callers run dozens at once on
// different sockets, so blocking netlink work needs threads of its own.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

namespace netplumb {

class WorkerPool {
 public:
  // One pool per process, shared by every Node environment (main thread and workers)
  // that loads the addon. Deliberately never destroyed: its detached threads may still
  // be sleeping in it while the process exits (see binding.gyp: -z nodelete keeps the
  // code mapped when a worker thread's environment unloads the addon).
  static WorkerPool& Get();

  // Queues task; starts a thread when none is idle (up to kMaxThreads). Throws Errno
  // only if no thread exists and none can be started (the task is then dropped).
  void Submit(std::function<void()> task);

  static constexpr unsigned kMaxThreads = 64;

 private:
  WorkerPool() = default;
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  unsigned threads_ = 0;  // alive
  unsigned idle_ = 0;     // waiting for work
};

}  // namespace netplumb
