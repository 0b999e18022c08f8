#include "worker_pool.h"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <system_error>
#include <thread>

#include "sys.h"

namespace netplumb {

namespace {
// Threads idle this long exit, so a burst of 64 parallel deletions does not leave 64
// threads behind.
constexpr auto kIdleExit = std::chrono::seconds(5);
}  // namespace

WorkerPool& WorkerPool::Get() {
  static WorkerPool* pool = new WorkerPool();  // leaked on purpose, see header
  return *pool;
}

void WorkerPool::Submit(std::function<void()> task) {
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(std::move(task));
  // Tasks already queued but not yet picked up are each owed one idle thread.
  if (queue_.size() <= idle_ || threads_ >= kMaxThreads) {
    lock.unlock();
    cv_.notify_one();
    return;
  }
  // New threads inherit the signal mask: block everything so signals stay with the JS
  // thread (where Node handles them) and our syscalls are not cut short by EINTR.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int err = 0;
  try {
    std::thread thread(&WorkerPool::Loop, this);
    // Named by its creator, so it is recognisable (ps, gdb, /proc/PID/task) from birth.
    pthread_setname_np(thread.native_handle(), "netplumb-pool");
    thread.detach();
    ++threads_;
  } catch (const std::system_error& e) {
    err = e.code().value();
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (err && threads_ == 0) {
    queue_.pop_back();
    throw Errno(err, "pthread_create");
  }
  // With err and threads_ > 0 a running thread will reach the task in turn.
}

void WorkerPool::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (queue_.empty()) {
      ++idle_;
      bool woke = cv_.wait_for(lock, kIdleExit, [this] { return !queue_.empty(); });
      --idle_;
      if (!woke) {
        --threads_;
        return;
      }
    }
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    task();
    task = nullptr;  // destroy captures outside the lock
    lock.lock();
  }
}

}  // namespace netplumb
