// tun/tap devices. The kernel creates them only through the TUNSETIFF ioctl on
// /dev/net/tun (rtnetlink refuses), in the namespace of the thread that opened the
// device file; TUNSETPERSIST keeps the device after our fd closes, as `ip tuntap add` does.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>

#include "addon.h"
#include "errors.h"
#include "instance.h"
#include "netns.h"

namespace netplumb {

namespace {

struct TunParams {
  std::string name;
  bool tap;
  bool multiQueue;
  bool vnetHdr;
  int owner;  // -1: none
  int group;  // -1: none
};

class TunCreateOp : public AsyncOp {
 public:
  TunCreateOp(Fd ns, TunParams p) : ns_(std::move(ns)), p_(std::move(p)) {}

  void Execute() override {
    Fd dev;
    {
      NetnsSwitch inside(ns_.Get());
      dev = OpenOrThrow("/dev/net/tun", O_RDWR | O_CLOEXEC);
    }
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, p_.name.data(), std::min(p_.name.size(), sizeof ifr.ifr_name - 1));
    ifr.ifr_flags = static_cast<short>((p_.tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI | (p_.multiQueue ? IFF_MULTI_QUEUE : 0) |
                                       (p_.vnetHdr ? IFF_VNET_HDR : 0));
    if (::ioctl(dev.Get(), TUNSETIFF, &ifr) != 0) ThrowErrno("ioctl", "TUNSETIFF " + p_.name);
    // Until TUNSETPERSIST succeeds the device dies with our fd, so a failure below leaves nothing.
    if (p_.owner >= 0 && ::ioctl(dev.Get(), TUNSETOWNER, static_cast<unsigned long>(p_.owner)) != 0) ThrowErrno("ioctl", "TUNSETOWNER");
    if (p_.group >= 0 && ::ioctl(dev.Get(), TUNSETGROUP, static_cast<unsigned long>(p_.group)) != 0) ThrowErrno("ioctl", "TUNSETGROUP");
    if (::ioctl(dev.Get(), TUNSETPERSIST, 1UL) != 0) ThrowErrno("ioctl", "TUNSETPERSIST");
  }

  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  Fd ns_;
  TunParams p_;
};

}  // namespace

Napi::Value TunCreate(const Napi::CallbackInfo& info) {
  int ns = ArgInt(info, 0, "nsFd");
  TunParams p{ArgString(info, 1, "name"), ArgBool(info, 2, "tap"), ArgBool(info, 3, "multiQueue"),
              ArgBool(info, 4, "vnetHdr"), ArgInt(info, 5, "owner"), ArgInt(info, 6, "group")};
  return Instance::Of(info.Env())->Start(info.Env(), [&] {
    if (p.name.empty() || p.name.size() >= IFNAMSIZ) throw Errno(EINVAL, "tunCreate", p.name);
    return std::make_unique<TunCreateOp>(ns < 0 ? CurrentNetns() : DupOrThrow(ns), std::move(p));
  });
}

}  // namespace netplumb
