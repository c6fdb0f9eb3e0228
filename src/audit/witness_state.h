// Internal: the witness service's state file (docs/audit-format.md, "Witness protocol"): per
// origin, the last checkpoint it cosigned. JSON, rewritten whole and atomically:
//
//   {"format":"tenantai.witness.state/v1",
//    "logs":[{"origin":"tenantai.audit/acme","size":12,"root":"<base64>","note":"<note>"}]}
//
// `note` is the checkpoint as the log submitted it plus the witness's cosignature line.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tenantai/audit/merkle.h"

namespace tenantai::audit::detail {

struct WitnessedCheckpoint {
  std::string origin{};
  std::uint64_t size = 0;
  Hash root{};
  std::string note{};
};

// The state file's text for `logs` (in the order given).
std::string encode_witness_state(const std::vector<WitnessedCheckpoint>& logs);

// Parses a state file's text. Tampered naming `path` when it is not this format, an entry is
// malformed, its note's checkpoint does not match its origin, size and root, or an origin
// appears twice.
std::vector<WitnessedCheckpoint> decode_witness_state(const std::string& text, const std::filesystem::path& path);

}  // namespace tenantai::audit::detail
