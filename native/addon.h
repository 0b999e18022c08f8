// Entry points not declared next to their helpers (those are in netns.h,
// netlink_socket.h, monitor.h, errors.h).
#pragma once

#include <napi.h>

namespace netplumb {

Napi::Value InetSocket(const Napi::CallbackInfo& info);
Napi::Value SysctlRead(const Napi::CallbackInfo& info);
Napi::Value SysctlWrite(const Napi::CallbackInfo& info);

}  // namespace netplumb
