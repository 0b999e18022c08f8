// Netlink sockets opened inside a namespace, and request/reply transactions on them.
#pragma once

#include <napi.h>

#include <cstdint>

#include "sys.h"

namespace netplumb {

// socket(AF_NETLINK) created inside namespace nsFd (< 0: the caller's), with extended
// acks, capped acks and strict checking on, buffers of bufferBytes (0: the defaults),
// bound (nl_pid chosen by the kernel).
Fd OpenNetlink(int protocol, int nsFd, int bufferBytes, bool nonblocking);

// One exchange: sends request (whole netlink messages) in one sendmsg and returns every
// reply datagram (padded to 4 bytes) until each sequence number in expect has seen
// NLMSG_ERROR or NLMSG_DONE, or nothing more is queued. Any thread; throws Errno.
ByteBuf Transact(int fd, const uint8_t* request, size_t length, const uint32_t* expect, size_t count);

// Receives one datagram without blocking and appends it (padded to 4 bytes) to out.
// Returns bytes appended (0 for a datagram not sent by the kernel, which is dropped),
// or -errno (-EAGAIN when nothing is queued).
ssize_t RecvDatagram(int fd, ByteBuf& out);

// JS Buffer holding out's bytes (taken over without a copy when large).
Napi::Value ToBuffer(Napi::Env env, ByteBuf&& out);

Napi::Value NetlinkOpen(const Napi::CallbackInfo& info);
Napi::Value NetlinkPortId(const Napi::CallbackInfo& info);
Napi::Value NetlinkTransact(const Napi::CallbackInfo& info);
Napi::Value NetlinkTransactSync(const Napi::CallbackInfo& info);

}  // namespace netplumb
