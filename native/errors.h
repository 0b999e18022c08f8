// Conversion of Errno into the library's SystemError, and argument checking.
// JS thread only.
#pragma once

#include <napi.h>

#include <string>

#include "sys.h"

namespace netplumb {

// `new SystemError(errno, syscall, path?)` with the class from setErrorClass (a plain
// Error carrying errno/code/syscall/path if none was set or its constructor threw).
Napi::Value SystemErrorValue(Napi::Env env, const Errno& e);

// Runs fn, rethrowing any Errno it throws as the JS SystemError.
template <typename Fn>
auto Translate(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Errno& e) {
    throw Napi::Error(env, SystemErrorValue(env, e));
  }
}

// Argument readers: throw TypeError naming the argument when it has the wrong type.
int32_t ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name);
bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name);
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name);
Napi::Function ArgFunction(const Napi::CallbackInfo& info, size_t i, const char* name);

// setErrorClass(ctor)
Napi::Value SetErrorClass(const Napi::CallbackInfo& info);

}  // namespace netplumb
