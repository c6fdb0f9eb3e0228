// Error model: tenantai::Error (code + message) is thrown for failures; Result<T> carries
// expected outcomes on hot paths without exceptions (g++ 12 has no std::expected at C++20).
#pragma once

#include <chrono>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tenantai {

// Stable error categories. Every failure the library reports maps to exactly one.
enum class ErrorCode {
  Unauthenticated,     // credentials missing, malformed, unknown, expired or revoked
  PermissionDenied,    // authenticated, but the actor may not do this
  IsolationViolation,  // a value or handle of one tenant reached another tenant's operation
  NotFound,            // the tenant, document, key or object does not exist
  InvalidArgument,     // malformed input: bad ids, wrong dimensions, oversize requests
  RateLimited,         // a rate limit or queue limit refused the request; retry later
  BudgetExceeded,      // a spend cap would be overrun
  Tampered,            // integrity check failed: a log, proof, file or ciphertext was altered
  CryptoFailure,       // a cryptographic operation failed (wrong key, destroyed key, ...)
  StorageFailure,      // disk / database I/O failed or a file is corrupt
  AlreadyExists,       // the object exists and the operation would overwrite it
  Unavailable,         // a dependency (model server, backend) failed or timed out
  DeadlineExceeded,    // the request's deadline passed
  TenantUnavailable,   // this tenant's state failed verification: it is quarantined, others serve
  Internal,            // a bug in tenantai: an invariant did not hold
};

// Name of the code, e.g. "IsolationViolation". Never fails.
std::string_view to_string(ErrorCode code) noexcept;

// The exception tenantai throws. Thread-safe to copy; what() is "Code: message".
class Error : public std::exception {
 public:
  Error(ErrorCode code, std::string message);
  // With a retry hint (RateLimited, Unavailable): how long the caller should wait before trying
  // again; negative values are stored as zero.
  Error(ErrorCode code, std::string message, std::chrono::milliseconds retry_after);

  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  const char* what() const noexcept override { return what_.c_str(); }
  // The retry hint; zero when the failure gave none (e.g. it will never succeed as sent).
  std::chrono::milliseconds retry_after() const noexcept { return retry_after_; }

 private:
  ErrorCode code_;
  std::string message_;
  std::string what_;
  std::chrono::milliseconds retry_after_{0};
};

// Either a T or an Error. value() throws the Error when there is none, so callers who do not
// check still fail closed. Not thread-safe to mutate concurrently (like any value type).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  // The value; throws the carried Error if there is none.
  T& value() & {
    throw_if_error();
    return std::get<0>(state_);
  }
  const T& value() const& {
    throw_if_error();
    return std::get<0>(state_);
  }
  T&& value() && {
    throw_if_error();
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The error; calling it on a successful Result is a programming error (throws Internal).
  const Error& error() const {
    if (ok()) throw Error(ErrorCode::Internal, "Result::error() called on a successful result");
    return std::get<1>(state_);
  }

 private:
  void throw_if_error() const {
    if (!ok()) throw std::get<1>(state_);
  }
  std::variant<T, Error> state_;
};

// Success or an Error, for operations without a value.
class [[nodiscard]] Status {
 public:
  Status() = default;  // success
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  // Throws the carried Error, if any.
  void throw_if_error() const {
    if (!ok_) throw error_;
  }
  const Error& error() const {
    if (ok_) throw Error(ErrorCode::Internal, "Status::error() called on success");
    return error_;
  }

 private:
  Error error_{ErrorCode::Internal, ""};
  bool ok_ = true;
};

}  // namespace tenantai
