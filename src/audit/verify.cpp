#include "tenantai/audit/verify.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <optional>

#include <map>

#include "audit/bundle.h"
#include "audit/file_format.h"
#include "audit/record_codec.h"
#include "tenantai/audit/key_rotation.h"

namespace tenantai::audit {

namespace {

Error tampered(const std::string& why) { return Error(ErrorCode::Tampered, why); }

// Checks scanned records against checkpoints (already signature-checked, in log order).
Result<VerifyReport> verify_scan(const detail::Scan& s, const std::vector<Checkpoint>& checkpoints) {
  VerifyReport report;
  const std::uint64_t needed = checkpoints.empty() ? 0 : checkpoints.back().size;
  if (s.error) return tampered(*s.error);
  if (s.leaves.size() < needed) {
    return tampered("first bad index " + std::to_string(s.leaves.size()) + ": log ends (truncated or records deleted) "
                    "before its checkpoint of size " + std::to_string(needed));
  }
  // One pass: the frontier's root at each checkpoint size must equal the signed root.
  MerkleFrontier frontier;
  std::size_t next = 0;
  std::uint64_t last_good = 0;
  while (next < checkpoints.size() && checkpoints[next].size == 0) {
    if (checkpoints[next].root != root_of(nullptr, 0)) return tampered("first bad index 0: empty checkpoint root is wrong");
    ++next;
  }
  for (std::uint64_t i = 0; i < s.leaves.size(); ++i) {
    frontier.append(s.leaves[i]);
    while (next < checkpoints.size() && checkpoints[next].size == i + 1) {
      if (frontier.root() != checkpoints[next].root) {
        return tampered("first bad index " + std::to_string(last_good) + ": records [" + std::to_string(last_good) +
                        ", " + std::to_string(i + 1) + ") do not match the signed checkpoint of size " +
                        std::to_string(i + 1));
      }
      last_good = i + 1;
      ++next;
    }
  }
  report.events = s.leaves.size();
  report.pruned = s.pruned;
  report.checkpoints = checkpoints.size();
  if (!checkpoints.empty()) report.latest = checkpoints.back();
  return report;
}

// What an export bundle says about each record's readable event (index → raw line; "unreadable").
struct EventLines {
  std::map<std::uint64_t, std::string> events;
  std::map<std::uint64_t, bool> unreadable;
};

// The bundle's event lines against its verified frames: each unpruned record has exactly one
// event line (equal to the line its committed body renders to) or, if sealed, an "unreadable"
// line; pruned records and indices past the tree have none.
Result<std::uint64_t> verify_event_lines(const TenantId& tenant, const std::vector<detail::Frame>& frames,
                                         const EventLines& lines, VerifyReport& report) {
  auto bad = [](std::uint64_t i, const std::string& why) {
    return tampered("first bad index " + std::to_string(i) + ": event line " + why);
  };
  for (const auto& [i, line] : lines.events) {
    if (i >= frames.size()) return bad(i, "for a record the bundle does not hold");
    if (lines.unreadable.count(i) != 0) return bad(i, "given twice (readable and unreadable)");
  }
  std::uint64_t checked = 0;
  for (std::uint64_t i = 0; i < frames.size(); ++i) {
    const detail::Frame& f = frames[i];
    const auto it = lines.events.find(i);
    const bool unreadable = lines.unreadable.count(i) != 0;
    if (f.tag == detail::kPrunedTag) {
      if (it != lines.events.end() || unreadable) return bad(i, "for a pruned record");
      continue;
    }
    if (unreadable) {
      if (!f.header.sealed) return bad(i, "missing: a clear record is always readable");
      ++report.unreadable;
      continue;
    }
    if (it == lines.events.end()) return bad(i, "missing");
    if (auto why = detail::event_line_error(tenant, i, f.header, it->second)) return bad(i, *why);
    ++checked;
  }
  return checked;
}

// `note` verified by the first of `trusted` (non-empty) that signed it, else the last key's error.
}  // namespace

Result<std::vector<Checkpoint>> verify_checkpoint_notes(const std::vector<std::string>& notes, const TenantId& tenant,
                                                        const CheckpointVerifier& verifier) {
  return verify_checkpoint_notes(notes, tenant, std::vector<CheckpointVerifier>{verifier});
}

Result<std::vector<Checkpoint>> verify_checkpoint_notes(const std::vector<std::string>& notes, const TenantId& tenant,
                                                        const std::vector<CheckpointVerifier>& trusted) {
  if (trusted.empty()) return Error(ErrorCode::InvalidArgument, "no trusted verifier key");
  auto chain = verify_checkpoint_chain(notes, origin_for(tenant), trusted);  // follows key rotations
  if (!chain) return chain.error();
  std::vector<Checkpoint> out;
  for (auto& cp : chain->checkpoints) {
    if (!out.empty() && cp.size < out.back().size) {
      return tampered("checkpoint " + std::to_string(out.size()) + " shrinks the log from " +
                      std::to_string(out.back().size) + " to " + std::to_string(cp.size));
    }
    out.push_back(std::move(cp));
  }
  return out;
}

Result<VerifyReport> verify_log_bytes(std::string_view log_bytes, const TenantId& tenant, const Checkpoint& trusted) {
  std::size_t header = 0;
  try {
    header = detail::parse_log_header(log_bytes, tenant, "(log bytes)").size;
  } catch (const Error& e) {
    return e;
  }
  return verify_scan(detail::scan(log_bytes.substr(header), tenant.view(), false), {trusted});
}

Result<VerifyReport> verify_log(LogStorage& storage, const TenantId& tenant, const CheckpointVerifier& verifier) {
  return verify_log(storage, tenant, std::vector<CheckpointVerifier>{verifier});
}

Result<VerifyReport> verify_log(LogStorage& storage, const TenantId& tenant,
                                const std::vector<CheckpointVerifier>& trusted) {
  auto tree = verify_log_tree(storage, tenant, trusted);
  if (!tree) return tree.error();
  return std::move(tree->report);
}

Result<VerifiedTree> verify_log_tree(LogStorage& storage, const TenantId& tenant,
                                     const std::vector<CheckpointVerifier>& trusted) {
  try {
    const auto streams = storage.open(tenant, OpenMode::ReadOnly);
    auto checkpoints = verify_checkpoint_notes(streams->read_checkpoints().notes, tenant, trusted);
    if (!checkpoints) return checkpoints.error();
    if (checkpoints->empty()) {
      return Error(ErrorCode::NotFound, "no signed checkpoint for tenant \"" + tenant.str() + "\" in " +
                                            streams->checkpoints_name());
    }
    detail::Scanner scanner(tenant.view(), false);
    const RecordScan stored = streams->scan_records([&](std::string_view frame) { return scanner.add(frame).has_value(); });
    if (stored.broken) scanner.fail(*stored.broken);
    auto report = verify_scan(scanner.result(), *checkpoints);
    if (!report) return report.error();
    return VerifiedTree{std::move(report).value(), std::move(checkpoints).value(), std::move(scanner.result().leaves)};
  } catch (const Error& e) {
    return e;
  }
}

Result<VerifyReport> verify_log(const std::filesystem::path& root, const TenantId& tenant,
                                const CheckpointVerifier& verifier) {
  FileLogStorage storage(root);
  return verify_log(storage, tenant, verifier);
}

Result<VerifyReport> verify_bundle(std::string_view bundle, const TenantId& tenant, const CheckpointVerifier& verifier) {
  return verify_bundle(bundle, tenant, std::vector<CheckpointVerifier>{verifier});
}

Result<VerifyReport> verify_bundle(std::string_view bundle, const TenantId& tenant,
                                   const std::vector<CheckpointVerifier>& trusted) {
  auto tree = verify_bundle_tree(bundle, tenant, trusted);
  if (!tree) return tree.error();
  return std::move(tree->report);
}

Result<VerifiedTree> verify_bundle_tree(std::string_view bundle, const TenantId& tenant,
                                        const std::vector<CheckpointVerifier>& trusted) {
  if (trusted.empty()) return Error(ErrorCode::InvalidArgument, "no trusted verifier key");
  std::vector<Checkpoint> checkpoints;
  std::string frames;
  std::uint64_t expected_index = 0;
  std::uint64_t declared_size = 0;
  bool have_header = false;
  struct Consistency {
    std::uint64_t old_size, new_size;
    std::vector<Hash> proof;
  };
  std::vector<Consistency> proofs;
  std::vector<std::string> notes;
  EventLines events;
  std::size_t line_no = 0;
  for (std::size_t pos = 0; pos < bundle.size();) {
    auto nl = bundle.find('\n', pos);
    if (nl == std::string_view::npos) nl = bundle.size();
    const std::string_view line = bundle.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.empty()) continue;
    const std::string where = "bundle line " + std::to_string(line_no) + ": ";
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string()) {
      return Error(ErrorCode::InvalidArgument, where + "not a JSON object with a \"type\"");
    }
    const std::string type = j["type"].get<std::string>();
    auto str = [&](const char* key) -> const std::string* {
      auto it = j.find(key);
      return it != j.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
    };
    auto num = [&](const char* key) -> std::optional<std::uint64_t> {
      auto it = j.find(key);
      if (it == j.end() || !it->is_number_unsigned()) return std::nullopt;
      return it->get<std::uint64_t>();
    };
    if (type == "header") {
      const std::string* t = str("tenant");
      auto size = num("size");
      if (have_header || t == nullptr || !size) return Error(ErrorCode::InvalidArgument, where + "bad or repeated header");
      if (*t != tenant.str()) {
        return Error(ErrorCode::IsolationViolation, where + "bundle is for tenant \"" + escape_for_message(*t) +
                                                        "\", expected \"" + tenant.str() + "\"");
      }
      declared_size = *size;
      have_header = true;
    } else if (type == "checkpoint") {
      const std::string* note = str("note");
      if (note == nullptr) return Error(ErrorCode::InvalidArgument, where + "checkpoint without note");
      notes.push_back(*note);  // checkpoints and key rotations, verified as one chain below
    } else if (type == "consistency") {
      auto a = num("old_size");
      auto b = num("new_size");
      auto it = j.find("proof");
      if (!a || !b || it == j.end() || !it->is_array() || it->size() > 128) {
        return Error(ErrorCode::InvalidArgument, where + "malformed consistency proof");
      }
      Consistency c{*a, *b, {}};
      for (const auto& h : *it) {
        if (!h.is_string()) return Error(ErrorCode::InvalidArgument, where + "malformed proof hash");
        auto raw = from_base64(h.get<std::string>());
        if (!raw || raw->size() != 32) return Error(ErrorCode::InvalidArgument, where + "malformed proof hash");
        Hash x;
        std::memcpy(x.data(), raw->data(), 32);
        c.proof.push_back(x);
      }
      proofs.push_back(std::move(c));
    } else if (type == "record") {
      auto index = num("index");
      const std::string* frame = str("frame");
      if (!index || frame == nullptr) return Error(ErrorCode::InvalidArgument, where + "malformed record");
      if (*index != expected_index) {
        return tampered("first bad index " + std::to_string(expected_index) + ": " + where + "found record " +
                        std::to_string(*index) + " (missing, duplicated or reordered)");
      }
      auto raw = from_base64(*frame);
      if (!raw) return tampered("first bad index " + std::to_string(expected_index) + ": " + where + "frame is not base64");
      frames += *raw;
      ++expected_index;
    } else if (type == "event" || type == "unreadable") {
      auto index = num("index");
      if (!index) return Error(ErrorCode::InvalidArgument, where + "event line without index");
      if (events.events.count(*index) != 0 || events.unreadable.count(*index) != 0) {
        return tampered("first bad index " + std::to_string(*index) + ": " + where + "event line repeated");
      }
      if (type == "event") {
        events.events.emplace(*index, std::string(line));
      } else {
        events.unreadable.emplace(*index, true);
      }
    } else {
      return Error(ErrorCode::InvalidArgument, where + "unknown line type \"" + escape_for_message(type) + "\"");
    }
  }
  {
    auto verified = verify_checkpoint_notes(notes, tenant, trusted);
    if (!verified) return verified.error();
    checkpoints = std::move(verified).value();
  }
  if (!have_header) return Error(ErrorCode::InvalidArgument, "bundle has no header line");
  if (checkpoints.empty()) return tampered("bundle has no signed checkpoint");
  if (checkpoints.back().size != declared_size) {
    return tampered("bundle header says " + std::to_string(declared_size) + " events, its newest checkpoint " +
                    std::to_string(checkpoints.back().size));
  }
  detail::Scan s = detail::scan(frames, tenant.view(), true);
  if (!s.error && s.torn) {
    return tampered("first bad index " + std::to_string(s.leaves.size()) + ": record frame truncated");
  }
  if (!s.error && s.leaves.size() != declared_size) {
    return tampered("first bad index " + std::to_string(std::min<std::uint64_t>(s.leaves.size(), declared_size)) +
                    ": bundle holds " + std::to_string(s.leaves.size()) + " records for a checkpoint of " +
                    std::to_string(declared_size));
  }
  auto report = verify_scan(s, checkpoints);
  if (!report) return report.error();
  auto checked = verify_event_lines(tenant, s.frames, events, *report);
  if (!checked) return checked.error();
  report->events_checked = *checked;
  for (const auto& c : proofs) {
    const Checkpoint* a = nullptr;
    const Checkpoint* b = nullptr;
    for (const auto& cp : checkpoints) {
      if (cp.size == c.old_size) a = &cp;
      if (cp.size == c.new_size) b = &cp;
    }
    if (a == nullptr || b == nullptr || !verify_consistency(a->size, b->size, a->root, b->root, c.proof)) {
      return tampered("consistency proof " + std::to_string(c.old_size) + " -> " + std::to_string(c.new_size) +
                      " does not verify");
    }
  }
  return VerifiedTree{std::move(report).value(), std::move(checkpoints), std::move(s.leaves)};
}

}  // namespace tenantai::audit
