#include "instance.h"

#include "errors.h"
#include "monitor.h"
#include "worker_pool.h"

namespace netplumb {

void CompletionQueue::Post(std::unique_ptr<AsyncOp> op) {
  std::unique_ptr<AsyncOp> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      dropped = std::move(op);  // destroyed outside the lock
    } else {
      // Only the first completion of a batch wakes the loop; the rest ride along.
      bool wake = done_.empty();
      done_.push_back(std::move(op));
      // Under the lock, so Close() cannot slip in between and free the handle.
      if (wake) uv_async_send(async_);
    }
  }
}

std::vector<std::unique_ptr<AsyncOp>> CompletionQueue::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(done_, {});
}

void CompletionQueue::Close() {
  std::vector<std::unique_ptr<AsyncOp>> dropped;
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  dropped.swap(done_);
}

Instance::Instance(Napi::Env e) : env(e) {
  if (napi_get_uv_event_loop(e, &loop) != napi_ok) throw Napi::Error::New(e, "no event loop");
  async_ = new uv_async_t;
  async_->data = this;
  uv_async_init(loop, async_, OnCompletions);
  uv_unref(reinterpret_cast<uv_handle_t*>(async_));  // only pending ops keep the loop alive
  queue_ = std::make_shared<CompletionQueue>(async_);
  context_.emplace(e, "netplumb");
}

Napi::Value Instance::SystemErrorValueFwd(Napi::Env env, const Errno& e) { return SystemErrorValue(env, e); }

void Instance::Submit(std::unique_ptr<AsyncOp> op, napi_deferred deferred) {
  op->queue_ = queue_;
  op->deferred_ = deferred;
  AsyncOp* raw = op.get();
  WorkerPool::Get().Submit([raw] {
    std::unique_ptr<AsyncOp> op(raw);
    try {
      op->Execute();
    } catch (const Errno& e) {
      op->error_ = e;
    } catch (const std::bad_alloc&) {
      op->error_.emplace(ENOMEM, "malloc");
    }
    auto queue = op->queue_;  // keeps the queue alive through Post even if op is dropped
    queue->Post(std::move(op));
  });
  op.release();  // the task owns it now (if Submit threw, op is still ours and freed)
  if (pending_++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(async_));
}

// How long one turn of the loop may spend settling ops (each settlement runs the JS that
// awaited it, up to its next await): with many operations in flight, settling every
// completed one in one turn kept timers and I/O waiting for milliseconds (16 connects'
// continuations back to back); the rest are settled in the next turns.
constexpr uint64_t kSliceNs = 500 * 1000;

void Instance::OnCompletions(uv_async_t* handle) {
  auto* self = static_cast<Instance*>(handle->data);
  for (auto& op : self->queue_->Take()) self->ready_.push_back(std::move(op));
  if (self->ready_.empty()) return;
  // Raw N-API for the scopes: nothing may throw out of a libuv callback, and while a
  // worker is being terminated these calls can fail; then what is left is simply dropped.
  napi_env env = self->env;
  const uint64_t start = uv_hrtime();
  do {
    std::unique_ptr<AsyncOp> op = std::move(self->ready_.front());
    self->ready_.pop_front();
    self->pending_--;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) {
      self->pending_ -= self->ready_.size();
      self->ready_.clear();
      break;
    }
    napi_value resource;
    napi_callback_scope callback = nullptr;
    // Closing the callback scope runs the microtask queue: the JS that awaited this op.
    if (napi_create_object(env, &resource) == napi_ok)
      napi_open_callback_scope(env, resource, *self->context_, &callback);
    napi_value value = nullptr;
    bool ok = !op->error_;
    try {
      value = ok ? op->Result(env) : SystemErrorValue(env, *op->error_);
    } catch (const Napi::Error& e) {
      ok = false;
      value = e.Value();
    } catch (const std::exception&) {
      // Only allocation can fail here (converting a result): report it as the errno it is.
      ok = false;
      value = SystemErrorValue(env, Errno(ENOMEM, "result"));
    }
    if (ok)
      napi_resolve_deferred(env, op->deferred_, value);
    else
      napi_reject_deferred(env, op->deferred_, value);
    if (callback) napi_close_callback_scope(env, callback);
    napi_close_handle_scope(env, scope);
  } while (!self->ready_.empty() && uv_hrtime() - start < kSliceNs);
  // The rest in a later turn, after timers and I/O had theirs.
  if (!self->ready_.empty()) uv_async_send(handle);
  if (self->pending_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(handle));
}

void Instance::Cleanup(void* arg) {
  auto* self = static_cast<Instance*>(arg);
  // From here on, operations still running on pool threads drop their results.
  self->queue_->Close();
  self->ready_.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(self->async_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
  self->async_ = nullptr;
  while (!self->monitors.empty()) CloseMonitor(self, self->monitors.begin()->second);
  // Drop JS references now, while the env can still delete them; ~Instance runs later
  // from N-API's own teardown.
  self->errorClass.Reset();
  self->validationClass.Reset();
  self->context_.reset();
}

}  // namespace netplumb
