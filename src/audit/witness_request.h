// Internal: the C2SP tlog-witness add-checkpoint request body, both directions:
//   "old <size>\n", zero to 63 base64 proof hashes one a line, "\n", then the checkpoint note.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/audit/merkle.h"
#include "tenantai/core/error.h"

namespace tenantai::audit::detail {

inline constexpr std::size_t kMaxProofLines = 63;

struct AddCheckpointRequest {
  std::uint64_t old_size = 0;
  std::vector<Hash> proof{};
  std::string_view note{};  // points into the parsed body
};

// The request body (the caller keeps proof.size() <= kMaxProofLines).
std::string encode_add_checkpoint(std::uint64_t old_size, const std::vector<Hash>& proof, std::string_view note);

// InvalidArgument, saying what is wrong, for a body that is not old line, proof lines, blank
// line and a non-empty rest.
Result<AddCheckpointRequest> parse_add_checkpoint(std::string_view body);

}  // namespace tenantai::audit::detail
