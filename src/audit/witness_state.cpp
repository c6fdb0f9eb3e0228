#include "audit/witness_state.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <set>

#include "audit/note_keys.h"
#include "tenantai/audit/checkpoint.h"
#include "tenantai/core/error.h"

namespace tenantai::audit::detail {

namespace {

constexpr std::string_view kStateFormat = "tenantai.witness.state/v1";

[[noreturn]] void refuse(const std::filesystem::path& path, const std::string& why) {
  throw Error(ErrorCode::Tampered, "witness state " + path.string() + ": " + why);
}

WitnessedCheckpoint decode_entry(const nlohmann::json& entry, const std::filesystem::path& path) {
  WitnessedCheckpoint out;
  if (!entry.is_object() || !entry.value("origin", nlohmann::json()).is_string() ||
      !entry.value("size", nlohmann::json()).is_number_unsigned() || !entry.value("root", nlohmann::json()).is_string() ||
      !entry.value("note", nlohmann::json()).is_string()) {
    refuse(path, "an entry needs origin, size, root and note");
  }
  out.origin = entry["origin"].get<std::string>();
  out.size = entry["size"].get<std::uint64_t>();
  out.note = entry["note"].get<std::string>();
  auto root = from_base64(entry["root"].get<std::string>());
  if (!root || root->size() != out.root.size()) refuse(path, "root of \"" + out.origin + "\" is not 32 bytes");
  std::memcpy(out.root.data(), root->data(), out.root.size());
  auto split = split_note(out.note);
  auto cp = split ? parse_checkpoint_text(split->text, out.note) : Result<Checkpoint>(split.error());
  if (!cp || cp->origin != out.origin || cp->size != out.size || cp->root != out.root) {
    refuse(path, "the note held for \"" + out.origin + "\" is not its checkpoint");
  }
  return out;
}

}  // namespace

std::string encode_witness_state(const std::vector<WitnessedCheckpoint>& logs) {
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& log : logs) {
    entries.push_back({{"origin", log.origin},
                       {"size", log.size},
                       {"root", to_base64(log.root.data(), log.root.size())},
                       {"note", log.note}});
  }
  return nlohmann::json{{"format", kStateFormat}, {"logs", entries}}.dump(1) + "\n";
}

static std::vector<WitnessedCheckpoint> decode_document(const std::string& text, const std::filesystem::path& path) {
  const auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) refuse(path, "not JSON");
  if (doc.value("format", std::string()) != kStateFormat) {
    refuse(path, "format is not " + std::string(kStateFormat) + " (written by a newer tenantai?)");
  }
  if (!doc.contains("logs") || !doc["logs"].is_array()) refuse(path, "no logs array");
  std::vector<WitnessedCheckpoint> out;
  std::set<std::string> origins;
  for (const auto& entry : doc["logs"]) {
    out.push_back(decode_entry(entry, path));
    if (!origins.insert(out.back().origin).second) refuse(path, "origin \"" + out.back().origin + "\" appears twice");
  }
  return out;
}

std::vector<WitnessedCheckpoint> decode_witness_state(const std::string& text, const std::filesystem::path& path) {
  try {
    return decode_document(text, path);
  } catch (const nlohmann::json::exception& e) {
    refuse(path, std::string("malformed: ") + e.what());
  }
}

}  // namespace tenantai::audit::detail
