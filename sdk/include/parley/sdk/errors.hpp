// Exceptions that mean something to the core when they cross the plugin boundary.
#pragma once

#include <stdexcept>
#include <string>

#include "parley/sdk/export.hpp"

namespace parley::sdk {

// A configuration value is unusable; what() names the key and why. Thrown by PluginConfig and by
// Plugin::configure(); parleyd reports it and refuses to start.
class PARLEY_SDK_API ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  ~ConfigError() override;
};

// A registration was refused (duplicate or invalid name, contract kind mismatch, route conflict).
class PARLEY_SDK_API RegistrationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  ~RegistrationError() override;
};

// Thrown from an HTTP handler to answer with a JSON error: {"error":{"code","message"}}.
class PARLEY_SDK_API HttpError : public std::runtime_error {
 public:
  HttpError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  ~HttpError() override;
  int status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }

 private:
  int status_;
  std::string code_;
};

}  // namespace parley::sdk
