// Per-environment state (one per main thread / worker thread that loads the addon) and
// the machinery that completes promises of pool-thread operations on the JS thread.
#pragma once

#include <napi.h>
#include <uv.h>

#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "sys.h"

namespace netplumb {

class CompletionQueue;
struct Monitor;

// One asynchronous operation: Execute() runs on a pool thread and may only make system
// calls (no N-API); Result() builds the resolution value on the JS thread.
class AsyncOp {
 public:
  virtual ~AsyncOp() = default;
  virtual void Execute() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;

 private:
  friend class Instance;
  friend class CompletionQueue;
  napi_deferred deferred_ = nullptr;
  std::optional<Errno> error_;
  std::shared_ptr<CompletionQueue> queue_;
};

// Finished operations waiting for the JS thread. Shared with pool threads through
// shared_ptr so it outlives an environment torn down while operations are in flight;
// after Close() their results are dropped (their promises belong to a dead isolate).
class CompletionQueue {
 public:
  explicit CompletionQueue(uv_async_t* async) : async_(async) {}
  void Post(std::unique_ptr<AsyncOp> op);             // any thread
  std::vector<std::unique_ptr<AsyncOp>> Take();       // JS thread
  void Close();                                       // JS thread, before uv_close(async)

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<AsyncOp>> done_;
  uv_async_t* async_;
  bool closed_ = false;
};

class Instance {
 public:
  explicit Instance(Napi::Env env);
  static Instance* Of(Napi::Env env) { return env.GetInstanceData<Instance>(); }

  // Hands op to the pool and returns its promise. Errno thrown by make() (preparing the
  // op on the JS thread) rejects the promise rather than throwing.
  template <typename Make>
  Napi::Value Start(Napi::Env env, Make&& make) {
    napi_deferred deferred;
    napi_value promise;
    NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &deferred, &promise), Napi::Value());
    try {
      Submit(make(), deferred);
    } catch (const Errno& e) {
      napi_reject_deferred(env, deferred, SystemErrorValueFwd(env, e));
    }
    return Napi::Value(env, promise);
  }

  // Async context of every callback the addon makes into JS (promise settling, monitors).
  napi_async_context Context() const { return *context_; }

  Napi::FunctionReference errorClass;
  // ValidationError(field, message), for arguments refused before anything runs.
  Napi::FunctionReference validationClass;
  std::unordered_map<int, Monitor*> monitors;  // by socket fd
  napi_env env;
  uv_loop_t* loop;

  // Runs from napi_add_env_cleanup_hook, before N-API tears down the env.
  static void Cleanup(void* self);

 private:
  static Napi::Value SystemErrorValueFwd(Napi::Env env, const Errno& e);
  void Submit(std::unique_ptr<AsyncOp> op, napi_deferred deferred);
  static void OnCompletions(uv_async_t* handle);

  uv_async_t* async_;  // heap: freed by its close callback, which may run after ~Instance
  std::shared_ptr<CompletionQueue> queue_;
  // Completed ops taken from queue_ and not yet settled: settled a slice per turn of the loop.
  std::deque<std::unique_ptr<AsyncOp>> ready_;
  std::optional<Napi::AsyncContext> context_;  // callback scope => microtasks run after settling
  size_t pending_ = 0;                         // ops submitted and not settled; loop ref'd while > 0
};

}  // namespace netplumb
