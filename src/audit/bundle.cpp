#include "audit/bundle.h"

#include <nlohmann/json.hpp>

namespace tenantai::audit::detail {

namespace {
std::string b64(std::string_view bytes) {
  return to_base64(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}
}  // namespace

std::optional<AuditEvent> clear_event(const Frame& frame) {
  if (frame.tag != kFullTag || frame.header.sealed) return std::nullopt;
  return decode_body(frame.header.body, frame.header.timestamp_ms);
}

void write_bundle(const TenantId& tenant, std::string_view log_bytes, const std::vector<Checkpoint>& checkpoints,
                  const EventOpener& open_event, AuditSink& sink) {
  if (checkpoints.empty()) throw Error(ErrorCode::NotFound, "no checkpoint to export for tenant \"" + tenant.str() + "\"");
  const Scan s = scan(log_bytes, tenant.view());
  if (s.error) throw Error(ErrorCode::Tampered, "cannot export tenant \"" + tenant.str() + "\": " + *s.error);
  const std::uint64_t size = checkpoints.back().size;
  if (s.frames.size() < size) {
    throw Error(ErrorCode::Tampered, "cannot export tenant \"" + tenant.str() + "\": first bad index " +
                                         std::to_string(s.frames.size()) + ": log shorter than its checkpoint");
  }
  std::vector<Hash> leaves;
  leaves.reserve(size);
  for (std::uint64_t i = 0; i < size; ++i) leaves.push_back(s.frames[i].leaf);

  nlohmann::ordered_json header = {{"type", "header"},
                                   {"format", "tenantai.audit.bundle/v1"},
                                   {"tenant", tenant.str()},
                                   {"origin", origin_for(tenant)},
                                   {"size", size}};
  sink.write(header.dump() + "\n");
  for (const auto& cp : checkpoints) {
    sink.write(nlohmann::ordered_json({{"type", "checkpoint"}, {"note", cp.note}}).dump() + "\n");
  }
  for (std::size_t i = 1; i < checkpoints.size(); ++i) {
    const auto& a = checkpoints[i - 1];
    const auto& b = checkpoints[i];
    if (a.size == 0 || a.size > b.size) continue;
    auto proof = consistency_proof(leaves, a.size, b.size);
    nlohmann::ordered_json line = {{"type", "consistency"}, {"old_size", a.size}, {"new_size", b.size}};
    auto& path = line["proof"] = nlohmann::json::array();
    for (const auto& h : *proof) path.push_back(to_base64(h.data(), h.size()));
    sink.write(line.dump() + "\n");
  }
  std::string chunk;
  for (std::uint64_t i = 0; i < size; ++i) {
    const Frame& f = s.frames[i];
    const std::string_view frame_bytes = log_bytes.substr(f.offset, kFrameOverhead + f.payload.size());
    chunk += nlohmann::ordered_json({{"type", "record"}, {"index", i}, {"frame", b64(frame_bytes)}}).dump();
    chunk += "\n";
    if (chunk.size() > (1u << 20)) {
      sink.write(chunk);
      chunk.clear();
    }
  }
  for (std::uint64_t i = 0; i < size; ++i) {
    if (auto event = open_event(s.frames[i])) {
      chunk += to_json_line(tenant, i, *event);
      chunk += "\n";
      if (chunk.size() > (1u << 20)) {
        sink.write(chunk);
        chunk.clear();
      }
    }
  }
  sink.write(chunk);
  sink.commit();
}

}  // namespace tenantai::audit::detail
