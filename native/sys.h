// Plain-C++ building blocks shared by every file: errno exceptions, an owned fd, a
// growable byte buffer. Nothing here touches N-API, so all of it is safe on pool threads.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <utility>

namespace netplumb {

// A failed system call. Thrown wherever it happens (any thread); turned into the JS
// SystemError only on the JS thread (errors.cc), so workers never need an napi_env.
struct Errno : std::exception {
  int code;
  const char* syscall;  // always a string literal
  std::string path;
  Errno(int c, const char* s, std::string p = {}) : code(c), syscall(s), path(std::move(p)) {}
  const char* what() const noexcept override { return syscall; }
};

// Throws Errno for the current errno (read first: building the path may clobber it).
[[noreturn]] inline void ThrowErrno(const char* syscall, std::string path = {}) {
  int e = errno;
  throw Errno(e, syscall, std::move(path));
}

// Owns one file descriptor; closes it unless released.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.Release()) {}
  Fd& operator=(Fd&& o) noexcept {
    Reset(o.Release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }

  int Get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }
  // close() is never retried on EINTR: on Linux the fd is gone either way.
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// open(2) that throws Errno("open", path).
Fd OpenOrThrow(const std::string& path, int flags, mode_t mode = 0);
// F_DUPFD_CLOEXEC that throws Errno("dup"). Async operations work on their own
// duplicate so a close() from JS while they run cannot make them hit a reused fd.
Fd DupOrThrow(int fd);

// malloc-backed byte buffer: grows without zero-filling, and can hand its memory to
// an external Buffer (released with free()).
class ByteBuf {
 public:
  ByteBuf() = default;
  ByteBuf(ByteBuf&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)),
        cap_(std::exchange(o.cap_, 0)) {}
  ByteBuf& operator=(ByteBuf&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(cap_, o.cap_);
    return *this;
  }
  ByteBuf(const ByteBuf&) = delete;
  ByteBuf& operator=(const ByteBuf&) = delete;
  ~ByteBuf() { std::free(data_); }

  const uint8_t* Data() const { return data_; }
  size_t Size() const { return size_; }
  bool Empty() const { return size_ == 0; }

  // Appends n bytes followed by zeros up to a multiple of 4 (netlink alignment).
  void AppendPadded(const void* p, size_t n) {
    size_t padded = (n + 3) & ~size_t{3};
    Reserve(padded);
    std::memcpy(data_ + size_, p, n);
    std::memset(data_ + size_ + n, 0, padded - n);
    size_ += padded;
  }

  // Gives up the memory (caller frees it with free()).
  uint8_t* Release() {
    size_ = cap_ = 0;
    return std::exchange(data_, nullptr);
  }

 private:
  void Reserve(size_t more) {
    if (cap_ - size_ >= more) return;
    size_t cap = cap_ ? cap_ * 2 : 4096;
    while (cap - size_ < more) cap *= 2;
    void* p = std::realloc(data_, cap);
    if (!p) throw std::bad_alloc();
    data_ = static_cast<uint8_t*>(p);
    cap_ = cap;
  }

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t cap_ = 0;
};

}  // namespace netplumb
