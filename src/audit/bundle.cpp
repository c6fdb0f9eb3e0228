#include "audit/bundle.h"

#include <sodium.h>

#include <nlohmann/json.hpp>

namespace tenantai::audit::detail {

namespace {
std::string b64(std::string_view bytes) {
  return to_base64(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}
}  // namespace

std::optional<OpenedBody> clear_body(const Frame& frame) {
  if (frame.tag != kFullTag || frame.header.sealed) return std::nullopt;
  return OpenedBody{std::string(frame.header.body), {}};
}

std::optional<std::string> event_line(const TenantId& tenant, std::uint64_t index, const RecordHeader& header,
                                      const OpenedBody& body) {
  auto event = decode_body(body.clear, header.timestamp_ms);
  if (!event) return std::nullopt;
  std::string line = to_json_line(tenant, index, *event);
  if (!header.sealed) return line;
  auto j = nlohmann::ordered_json::parse(line);
  j["tenantai.record.salt"] = b64(body.salt);
  j["tenantai.record.body"] = b64(body.clear);
  return j.dump();
}

std::optional<std::string> event_line_error(const TenantId& tenant, std::uint64_t index, const RecordHeader& header,
                                            std::string_view line) {
  OpenedBody body;
  if (!header.sealed) {
    body.clear = std::string(header.body);
  } else if (header.format == kLegacyFormat) {
    return std::nullopt;  // a format-1 sealed body commits to nothing readable
  } else {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    auto field = [&](const char* key) -> std::optional<std::string> {
      if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return std::nullopt;
      auto raw = from_base64(j[key].get<std::string>());
      return raw ? std::optional<std::string>(std::move(raw).value()) : std::nullopt;
    };
    auto salt = field("tenantai.record.salt");
    auto clear = field("tenantai.record.body");
    if (!salt || !clear) return "lacks the salt and body a sealed record's digest needs";
    body = {std::move(*clear), std::move(*salt)};
  }
  if (!body_matches(header, body)) return "body does not match the digest the record's header commits to";
  const auto expected = event_line(tenant, index, header, body);
  if (!expected) return "body is malformed";
  if (*expected != line) return "differs from the event its record commits to (edited)";
  return std::nullopt;
}

bool body_matches(const RecordHeader& header, const OpenedBody& body) {
  if (header.format == kLegacyFormat) return !header.sealed && header.body == body.clear;
  Hash digest{};
  if (!header.sealed) {
    crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(body.clear.data()), body.clear.size());
    return digest == header.body_digest;
  }
  if (!header.clear_digest || body.salt.size() != kSaltSize) return false;
  const std::string salted = body.salt + body.clear;
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(salted.data()), salted.size());
  return digest == *header.clear_digest;
}

void write_bundle(const TenantId& tenant, std::string_view log_bytes, const std::vector<Checkpoint>& checkpoints,
                  const EventOpener& open_event, AuditSink& sink, const RotationNotes& rotations) {
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
  std::size_t next_rotation = 0;
  auto write_rotations_before = [&](std::size_t checkpoint_index) {
    for (; next_rotation < rotations.size() && rotations[next_rotation].first <= checkpoint_index; ++next_rotation) {
      sink.write(nlohmann::ordered_json({{"type", "checkpoint"}, {"note", rotations[next_rotation].second}}).dump() + "\n");
    }
  };
  for (std::size_t i = 0; i < checkpoints.size(); ++i) {
    write_rotations_before(i);
    sink.write(nlohmann::ordered_json({{"type", "checkpoint"}, {"note", checkpoints[i].note}}).dump() + "\n");
  }
  write_rotations_before(checkpoints.size());
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
    const std::string_view frame_bytes = log_bytes.substr(f.offset, f.size());
    chunk += nlohmann::ordered_json({{"type", "record"}, {"index", i}, {"frame", b64(frame_bytes)}}).dump();
    chunk += "\n";
    if (chunk.size() > (1u << 20)) {
      sink.write(chunk);
      chunk.clear();
    }
  }
  for (std::uint64_t i = 0; i < size; ++i) {
    const Frame& f = s.frames[i];
    if (f.tag == kPrunedTag) continue;
    const auto body = open_event(f);
    const auto line = body ? event_line(tenant, i, f.header, *body) : std::nullopt;
    chunk += line ? *line : nlohmann::ordered_json({{"type", "unreadable"}, {"index", i}}).dump();
    chunk += "\n";
    if (chunk.size() > (1u << 20)) {
      sink.write(chunk);
      chunk.clear();
    }
  }
  sink.write(chunk);
  sink.commit();
}

}  // namespace tenantai::audit::detail
