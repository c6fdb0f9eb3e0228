#include "audit/witness_request.h"

#include <cstring>

#include "audit/note_keys.h"
#include "tenantai/audit/checkpoint.h"

namespace tenantai::audit::detail {

namespace {

Error malformed(const std::string& why) { return Error(ErrorCode::InvalidArgument, "malformed add-checkpoint body: " + why); }

// The next '\n'-terminated line of `rest` (consumed), or false when there is none.
bool next_line(std::string_view& rest, std::string_view& line) {
  const auto nl = rest.find('\n');
  if (nl == std::string_view::npos) return false;
  line = rest.substr(0, nl);
  rest.remove_prefix(nl + 1);
  return true;
}

}  // namespace

std::string encode_add_checkpoint(std::uint64_t old_size, const std::vector<Hash>& proof, std::string_view note) {
  std::string body = "old " + std::to_string(old_size) + "\n";
  for (const auto& hash : proof) body += to_base64(hash.data(), hash.size()) + "\n";
  body += "\n";
  body.append(note);
  return body;
}

Result<AddCheckpointRequest> parse_add_checkpoint(std::string_view body) {
  AddCheckpointRequest request;
  std::string_view line;
  if (!next_line(body, line) || !line.starts_with("old ") || !parse_u64(line.substr(4), request.old_size)) {
    return malformed("the first line is not \"old <size>\"");
  }
  while (true) {
    if (!next_line(body, line)) return malformed("no blank line before the checkpoint");
    if (line.empty()) break;
    if (request.proof.size() == kMaxProofLines) return malformed("more than 63 proof lines");
    auto hash = from_base64(line);
    if (!hash || hash->size() != sizeof(Hash)) return malformed("a proof line is not a base64 SHA-256 hash");
    request.proof.emplace_back();
    std::memcpy(request.proof.back().data(), hash->data(), sizeof(Hash));
  }
  if (body.empty()) return malformed("no checkpoint");
  request.note = body;
  return request;
}

}  // namespace tenantai::audit::detail
