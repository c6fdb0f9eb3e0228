#include "tenantai/core/tenant_id.h"

#include <cstdio>

namespace tenantai {
namespace {

bool is_alnum_lower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_inner(char c) { return is_alnum_lower(c) || c == '.' || c == '_' || c == '-'; }

}  // namespace

std::string escape_for_message(std::string_view text, std::size_t max_chars) {
  std::string out;
  out.reserve(std::min(text.size(), max_chars) + 8);
  std::size_t shown = 0;
  for (unsigned char c : text) {
    if (shown == max_chars) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
    ++shown;
  }
  return out;
}

std::string TenantId::validation_error(std::string_view text) {
  if (text.empty()) return "tenant id is empty (there is no default tenant)";
  if (text.size() > kMaxLength) {
    return "tenant id \"" + escape_for_message(text) + "\" is " + std::to_string(text.size()) +
           " characters; the maximum is " + std::to_string(kMaxLength);
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!is_inner(text[i])) {
      return "tenant id \"" + escape_for_message(text) + "\" has a forbidden character at offset " +
             std::to_string(i) + " (allowed: a-z 0-9 . _ -)";
    }
  }
  if (!is_alnum_lower(text.front()) || !is_alnum_lower(text.back())) {
    return "tenant id \"" + escape_for_message(text) + "\" must start and end with a-z or 0-9";
  }
  if (text.find("..") != std::string_view::npos) {
    return "tenant id \"" + escape_for_message(text) + "\" contains \"..\"";
  }
  return {};
}

TenantId::TenantId(std::string_view text) : value_(text) {
  if (auto why = validation_error(text); !why.empty()) {
    throw Error(ErrorCode::InvalidArgument, std::move(why));
  }
}

Result<TenantId> TenantId::parse(std::string_view text) {
  if (auto why = validation_error(text); !why.empty()) {
    return Error(ErrorCode::InvalidArgument, std::move(why));
  }
  return TenantId(Validated{}, std::string(text));
}

}  // namespace tenantai
