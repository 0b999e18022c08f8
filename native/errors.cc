#include "errors.h"

#include <fcntl.h>

#include <cmath>
#include <cstring>

#include "instance.h"

namespace netplumb {

Fd OpenOrThrow(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) ThrowErrno("open", path);
  return Fd(fd);
}

Fd DupOrThrow(int fd) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) ThrowErrno("dup");
  return Fd(copy);
}

Napi::Value SystemErrorValue(Napi::Env env, const Errno& e) {
  Instance* inst = Instance::Of(env);
  std::vector<napi_value> args = {Napi::Number::New(env, e.code), Napi::String::New(env, e.syscall)};
  if (!e.path.empty()) args.push_back(Napi::String::New(env, e.path));
  if (inst && !inst->errorClass.IsEmpty()) {
    try {
      return inst->errorClass.New(args);
    } catch (const Napi::Error&) {
      // Fall through: a broken error class must not hide the errno.
    }
  }
  const char* name = strerrorname_np(e.code);
  std::string msg = std::string(e.syscall) + (e.path.empty() ? "" : " " + e.path) + " failed: " +
                    (name ? name : "E" + std::to_string(e.code)) + " (errno " + std::to_string(e.code) + ")";
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("errno", Napi::Number::New(env, e.code));
  err.Set("code", Napi::String::New(env, name ? name : "E" + std::to_string(e.code)));
  err.Set("syscall", Napi::String::New(env, e.syscall));
  if (!e.path.empty()) err.Set("path", Napi::String::New(env, e.path));
  return err.Value();
}

Napi::Error InvalidArgument(Napi::Env env, const std::string& field, const std::string& message) {
  Instance* inst = Instance::Of(env);
  if (inst && !inst->validationClass.IsEmpty()) {
    try {
      return Napi::Error(env, inst->validationClass.New({Napi::String::New(env, field), Napi::String::New(env, message)}));
    } catch (const Napi::Error&) {
      // Fall through to a TypeError: the message must still reach the caller.
    }
  }
  return Napi::TypeError::New(env, field + ": " + message);
}

int32_t ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::trunc(d) == d && d >= INT32_MIN && d <= INT32_MAX) return static_cast<int32_t>(d);
  }
  throw InvalidArgument(info.Env(), name, "must be an integer");
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsBoolean()) throw InvalidArgument(info.Env(), name, "must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsString()) throw InvalidArgument(info.Env(), name, "must be a string");
  std::string s = info[i].As<Napi::String>().Utf8Value();
  // An embedded NUL would silently shorten a path handed to the kernel.
  if (s.find('\0') != std::string::npos)
    throw InvalidArgument(info.Env(), name, "must not contain NUL");
  return s;
}

Napi::Function ArgFunction(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsFunction()) throw InvalidArgument(info.Env(), name, "must be a function");
  return info[i].As<Napi::Function>();
}

Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  Napi::Function ctor = ArgFunction(info, 0, "ctor");
  Instance* inst = Instance::Of(info.Env());
  inst->errorClass = Napi::Persistent(ctor);
  if (info.Length() > 1 && !info[1].IsUndefined()) inst->validationClass = Napi::Persistent(ArgFunction(info, 1, "validationCtor"));
  return info.Env().Undefined();
}

}  // namespace netplumb
