// Method table and per-environment initialisation. The exported shape is described, and
// typed, by src/native.ts.
#include <napi.h>

#include "addon.h"
#include "errors.h"
#include "instance.h"
#include "monitor.h"
#include "netlink_socket.h"
#include "netns.h"

namespace netplumb {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Context-aware: every environment (main thread, each worker thread) gets its own
  // Instance; the worker pool below them is shared by the process.
  auto* inst = new Instance(env);
  env.SetInstanceData<Instance>(inst);  // deleted by N-API at env teardown
  // Registered after N-API's own hook, so it runs before the env is torn down.
  NAPI_THROW_IF_FAILED(env, napi_add_env_cleanup_hook(env, Instance::Cleanup, inst), exports);

  struct Entry {
    const char* name;
    Napi::Function::Callback fn;
  };
  static const Entry kMethods[] = {
      {"setErrorClass", SetErrorClass},
      {"netlinkOpen", NetlinkOpen},
      {"netlinkPortId", NetlinkPortId},
      {"netlinkTransact", NetlinkTransact},
      {"netlinkTransactSync", NetlinkTransactSync},
      {"monitorOpen", MonitorOpen},
      {"monitorClose", MonitorClose},
      {"netnsCreate", NetnsCreate},
      {"netnsMount", NetnsMount},
      {"netnsUnmount", NetnsUnmount},
      {"netnsRemoveStale", NetnsRemoveStale},
      {"netnsOpen", NetnsOpen},
      {"netnsCurrent", NetnsCurrent},
      {"close", Close},
      {"runIn", RunIn},
      {"inetSocket", InetSocket},
      {"sysctlRead", SysctlRead},
      {"sysctlWrite", SysctlWrite},
      {"pipeline", Pipeline},
      {"tunCreate", TunCreate},
  };
  for (const Entry& m : kMethods) exports.Set(m.name, Napi::Function::New(env, m.fn, m.name));
  return exports;
}

}  // namespace netplumb

// NODE_API_MODULE pastes the name into an identifier, so it needs an unqualified one.
static Napi::Object InitNetplumb(Napi::Env env, Napi::Object exports) { return netplumb::Init(env, exports); }
NODE_API_MODULE(netplumb, InitNetplumb)
