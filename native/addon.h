// Entry points not declared next to their helpers (those are in netns.h,
// netlink_socket.h, monitor.h, errors.h).
#pragma once

#include <napi.h>

#include <string>

namespace netplumb {

Napi::Value InetSocket(const Napi::CallbackInfo& info);
Napi::Value SysctlRead(const Napi::CallbackInfo& info);
Napi::Value SysctlWrite(const Napi::CallbackInfo& info);
Napi::Value Pipeline(const Napi::CallbackInfo& info);
Napi::Value TunCreate(const Napi::CallbackInfo& info);

// Writes value to file (an absolute /proc/sys path) as seen from namespace nsFd (< 0: the
// thread's own). Any thread; throws Errno.
void WriteSysctl(int nsFd, const std::string& file, const std::string& value);
// A key below /proc/sys: relative, with no empty, "." or ".." component.
bool IsSysctlKey(const std::string& path);

}  // namespace netplumb
