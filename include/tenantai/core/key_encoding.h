// KeyEncoder: the one unambiguous encoding of composite keys (cache keys, sealed-object ids,
// scopes, MAC inputs). Every field is written as <decimal byte length>:<bytes>, so no field's
// content can move into its neighbour ("ab"+"c" and "a"+"bc" differ, and so do {"risk,staff"}
// and {"risk","staff"}); a set is written as its member count followed by its members, sorted
// and deduplicated, so one set has one encoding whatever order it was given in.
//
//   std::string key = KeyEncoder("tenantai.cache.chat/v1").add(tenant.view()).add_set(groups).take();
//
// The framing bytes are digits and ':' only, so an encoding of whitespace-normalised fields is
// itself whitespace-normalised. Never join fields with a separator the fields may contain.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace tenantai {

// Builds one key. Plain value type, not thread-safe (build it on one thread). Never throws
// except std::bad_alloc.
class KeyEncoder {
 public:
  KeyEncoder() = default;
  // Starts the key with `domain` (what the key is for, with a version), as its first field.
  explicit KeyEncoder(std::string_view domain) { add(domain); }

  KeyEncoder& add(std::string_view field);
  KeyEncoder& add(std::uint64_t number);  // as its decimal digits, framed like any field
  // A set of strings: the count, then each member; sorted and deduplicated first.
  KeyEncoder& add_set(std::vector<std::string> members);
  // A sequence whose order matters: the count, then each element.
  KeyEncoder& add_list(const std::vector<std::string>& elements);

  const std::string& bytes() const& noexcept { return bytes_; }
  // Moves the bytes out (the encoder is empty afterwards).
  std::string take() noexcept { return std::move(bytes_); }

 private:
  std::string bytes_;
};

// The fields framed one after the other (no domain): encode_fields({"a", "b"}) == "1:a1:b".
std::string encode_fields(std::initializer_list<std::string_view> fields);

// Splits an encoding back into its fields; false when `encoded` is not a sequence of whole
// frames (for tests and tools that show a key). Never throws except std::bad_alloc.
bool decode_fields(std::string_view encoded, std::vector<std::string>& out);

}  // namespace tenantai
