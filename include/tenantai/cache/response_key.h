// ResponseKey: what identifies one cacheable model response, and how the input is normalised.
#pragma once

#include <string>
#include <string_view>

namespace tenantai::cache {

// The inputs of one model call that determine its response. All parts are hashed (with
// unambiguous length framing, so "ab"+"c" and "a"+"bc" differ) together with the tenant's
// secret; the cache never stores the plain key. Plain data.
struct ResponseKey {
  std::string_view model_id;        // e.g. "llama-3-8b@q4"; non-empty
  std::string_view prompt_version;  // e.g. "support-bot@7"; may be empty
  std::string_view params;          // canonical parameter string, e.g. "temperature=0;max_tokens=256"
  std::string_view input;           // the user input; normalised before hashing
};

// The normalisation applied to ResponseKey::input before hashing: leading and trailing ASCII
// whitespace removed, every inner run of ASCII whitespace (space, \t, \n, \r, \f, \v) replaced
// by one space. Case and non-ASCII bytes are kept (changing them can change the answer).
// Never throws except std::bad_alloc.
std::string normalise_input(std::string_view input);

}  // namespace tenantai::cache
