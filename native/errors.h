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

// A ValidationError(field, message) from the class given to setErrorClass, to throw
// for an argument the addon refuses (a plain TypeError if none was set).
Napi::Error InvalidArgument(Napi::Env env, const std::string& field, const std::string& message);

// Argument readers: throw InvalidArgument naming the argument when it has the wrong type.
int32_t ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name);
bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name);
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name);
Napi::Function ArgFunction(const Napi::CallbackInfo& info, size_t i, const char* name);

// setErrorClass(systemErrorCtor, validationErrorCtor?)
Napi::Value SetErrorClass(const Napi::CallbackInfo& info);

}  // namespace netplumb
