#include "tenantai/core/key_encoding.h"

#include <algorithm>
#include <charconv>

namespace tenantai {

KeyEncoder& KeyEncoder::add(std::string_view field) {
  bytes_ += std::to_string(field.size());
  bytes_ += ':';
  bytes_ += field;
  return *this;
}

KeyEncoder& KeyEncoder::add(std::uint64_t number) { return add(std::string_view(std::to_string(number))); }

KeyEncoder& KeyEncoder::add_set(std::vector<std::string> members) {
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  return add_list(members);
}

KeyEncoder& KeyEncoder::add_list(const std::vector<std::string>& elements) {
  add(static_cast<std::uint64_t>(elements.size()));
  for (const auto& element : elements) add(element);
  return *this;
}

std::string encode_fields(std::initializer_list<std::string_view> fields) {
  KeyEncoder encoder;
  for (std::string_view field : fields) encoder.add(field);
  return encoder.take();
}

bool decode_fields(std::string_view encoded, std::vector<std::string>& out) {
  out.clear();
  while (!encoded.empty()) {
    const auto colon = encoded.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 19) return false;
    std::uint64_t length = 0;
    const auto [end, error] = std::from_chars(encoded.data(), encoded.data() + colon, length);
    if (error != std::errc() || end != encoded.data() + colon) return false;
    if (colon > 1 && encoded.front() == '0') return false;  // one encoding per length
    encoded.remove_prefix(colon + 1);
    if (length > encoded.size()) return false;
    out.emplace_back(encoded.substr(0, length));
    encoded.remove_prefix(length);
  }
  return true;
}

}  // namespace tenantai
