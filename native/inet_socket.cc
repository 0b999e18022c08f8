// inetSocket: a TCP/UDP socket born inside a namespace, for Node to adopt
// (server.listen({fd}), new net.Socket({fd}), dgram bind({fd})).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "addon.h"
#include "errors.h"
#include "netns.h"

namespace netplumb {

Napi::Value InetSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ns = ArgInt(info, 0, "nsFd");
  int family = ArgInt(info, 1, "family");
  int type = ArgInt(info, 2, "type");
  bool bind = ArgBool(info, 3, "bind");
  std::string address = ArgString(info, 4, "address");
  int port = ArgInt(info, 5, "port");
  if (family != 4 && family != 6) throw InvalidArgument(env, "family", "must be 4 or 6");
  if (type != SOCK_STREAM && type != SOCK_DGRAM) throw InvalidArgument(env, "type", "must be 1 or 2");
  if (port < 0 || port > 65535) throw InvalidArgument(env, "port", "must be 0..65535");

  return Translate(env, [&] {
    sockaddr_storage sa{};
    socklen_t len;
    // Parse before touching namespaces; "" means the wildcard address.
    if (family == 4) {
      auto* in = reinterpret_cast<sockaddr_in*>(&sa);
      in->sin_family = AF_INET;
      in->sin_port = htons(port);
      if (!address.empty() && ::inet_pton(AF_INET, address.c_str(), &in->sin_addr) != 1)
        throw Errno(EINVAL, "inet_pton", address);
      len = sizeof *in;
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&sa);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(port);
      if (!address.empty() && ::inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr) != 1)
        throw Errno(EINVAL, "inet_pton", address);
      len = sizeof *in6;
    }
    Fd fd;
    {
      // The namespace is fixed at socket(); bind() and everything later act on the
      // socket's own namespace whatever thread runs them.
      NetnsSwitch inside(ns);
      int s = ::socket(family == 4 ? AF_INET : AF_INET6, type | SOCK_CLOEXEC, 0);
      if (s < 0) ThrowErrno("socket");
      fd.Reset(s);
    }
    int one = 1;
    if (::setsockopt(fd.Get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) ThrowErrno("setsockopt");
    if (bind && ::bind(fd.Get(), reinterpret_cast<sockaddr*>(&sa), len) != 0)
      ThrowErrno("bind", address.empty() ? std::string(family == 4 ? "0.0.0.0" : "::") : address);
    return Napi::Number::New(env, fd.Release());
  });
}

}  // namespace netplumb
