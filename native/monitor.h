// Multicast subscriptions: a netlink socket watched by a uv_poll on the JS loop.
#pragma once

#include <napi.h>
#include <uv.h>

namespace netplumb {

class Instance;

struct Monitor {
  uv_poll_t poll;  // poll.data == this
  int fd;
  napi_env env;
  Napi::FunctionReference onData;
  napi_async_context context;  // the Instance's; monitors never outlive it
  bool closed = false;
};

// Stops the poll, closes the socket and forgets the monitor (freed by uv_close's callback).
void CloseMonitor(Instance* instance, Monitor* monitor);

Napi::Value MonitorOpen(const Napi::CallbackInfo& info);
Napi::Value MonitorClose(const Napi::CallbackInfo& info);

}  // namespace netplumb
