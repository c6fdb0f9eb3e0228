// TenantId: the validated name of a tenant. There is no default, empty or implicit tenant.
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "tenantai/core/error.h"

namespace tenantai {

// A tenant's identifier: 1..64 characters of [a-z0-9._-], starting and ending with [a-z0-9],
// no "..". Lower case only, so ids stay distinct on case-insensitive file systems and are safe
// as file names, metric labels and key-derivation context.
// Immutable value type; thread-safe to share. No default constructor (compile error) and no
// implicit conversion from strings: a tenant is always named explicitly and validated.
class TenantId {
 public:
  static constexpr std::size_t kMaxLength = 64;

  // Validates `text`; throws Error(InvalidArgument) naming the bad input (escaped) and the rule.
  explicit TenantId(std::string_view text);

  // Non-throwing validation for untrusted input (request bodies, files).
  static Result<TenantId> parse(std::string_view text);

  // Why `text` is not a valid tenant id, or an empty string when it is. Never throws.
  static std::string validation_error(std::string_view text);

  const std::string& str() const noexcept { return value_; }
  std::string_view view() const noexcept { return value_; }

  friend bool operator==(const TenantId&, const TenantId&) = default;
  friend std::strong_ordering operator<=>(const TenantId&, const TenantId&) = default;

 private:
  struct Validated {};
  TenantId(Validated, std::string text) : value_(std::move(text)) {}
  std::string value_;
};

// Printable, bounded rendering of untrusted text for error messages: non-printable bytes
// become \xNN and long input is cut with "...". Never throws except std::bad_alloc.
std::string escape_for_message(std::string_view text, std::size_t max_chars = 80);

}  // namespace tenantai

template <>
struct std::hash<tenantai::TenantId> {
  std::size_t operator()(const tenantai::TenantId& id) const noexcept {
    return std::hash<std::string_view>{}(id.view());
  }
};
