#include "tenantai/audit/key_rotation.h"

#include <optional>

#include "audit/note_keys.h"

namespace tenantai::audit {

namespace {

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  for (std::size_t pos = 0; pos < text.size();) {
    const auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) break;
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

Error entry_error(std::size_t entry, const Error& e) {
  return Error(e.code(), "checkpoint stream entry " + std::to_string(entry) + ": " + e.message());
}

// The key that signs checkpoints after rotation j (j = 0: before the first rotation).
const std::string& current_key(const std::vector<KeyRotation>& rotations, std::size_t j) {
  return j == 0 ? rotations.front().old_key : rotations[j - 1].new_key;
}

Result<std::vector<KeyRotation>> parse_rotations(const std::vector<std::string>& notes, std::string_view origin,
                                                 std::vector<std::size_t>& positions) {
  std::vector<KeyRotation> rotations;
  for (std::size_t i = 0; i < notes.size(); ++i) {
    if (!is_key_rotation(notes[i])) continue;
    auto r = parse_key_rotation(notes[i], origin);
    if (!r) return entry_error(i, r.error());
    if (!rotations.empty() && rotations.back().new_key != r->old_key) {
      return Error(ErrorCode::Tampered, "checkpoint stream entry " + std::to_string(i) +
                                            ": key rotation does not continue the chain (its old key is not the key "
                                            "the previous rotation named)");
    }
    rotations.push_back(std::move(r).value());
    positions.push_back(i);
  }
  return rotations;
}

bool chain_is_pinned(const std::vector<KeyRotation>& rotations, const std::vector<CheckpointVerifier>& pinned) {
  for (const auto& verifier : pinned) {
    for (std::size_t j = 0; j <= rotations.size(); ++j) {
      if (current_key(rotations, j) == verifier.key()) return true;
    }
  }
  return false;
}

}  // namespace

std::string sign_key_rotation(const CheckpointSigner& old_signer, std::string_view origin,
                              std::string_view new_verifier_key) {
  return old_signer.sign_note(std::string(origin) + "\n" + std::string(kKeyRotationLine) + "\n" +
                              old_signer.verifier_key() + "\n" + std::string(new_verifier_key) + "\n");
}

bool is_key_rotation(std::string_view note) {
  const auto first = note.find('\n');
  return first != std::string_view::npos && note.substr(first + 1, kKeyRotationLine.size() + 1) ==
                                                std::string(kKeyRotationLine) + "\n";
}

Result<KeyRotation> parse_key_rotation(std::string_view note, std::string_view expected_origin) {
  auto bad = [](const std::string& why) { return Error(ErrorCode::Tampered, "key rotation rejected: " + why); };
  auto split = detail::split_note(note);
  if (!split) return bad(split.error().message());
  const auto lines = lines_of(split->text);
  if (lines.size() != 4 || lines[1] != kKeyRotationLine) return bad("want origin, marker, old key and new key lines");
  KeyRotation r{std::string(lines[0]), std::string(lines[2]), std::string(lines[3]), std::string(note)};
  auto old_key = CheckpointVerifier::parse(r.old_key);
  if (!old_key) return bad("old key: " + old_key.error().message());
  if (!CheckpointVerifier::parse(r.new_key)) return bad("new key is not a verifier key");
  if (r.old_key == r.new_key) return bad("old and new key are the same");
  if (!old_key->verify_text(note)) return bad("not signed by the old key it names");
  if (r.origin != expected_origin) {
    return Error(ErrorCode::IsolationViolation, "key rotation is for origin \"" + escape_for_message(r.origin) +
                                                    "\", expected \"" + std::string(expected_origin) + "\"");
  }
  return r;
}

Result<CheckpointChain> verify_checkpoint_chain(const std::vector<std::string>& notes, std::string_view origin,
                                                const std::vector<CheckpointVerifier>& pinned) {
  if (pinned.empty()) return Error(ErrorCode::InvalidArgument, "no pinned verifier key");
  CheckpointChain chain;
  std::vector<std::size_t> positions;
  auto rotations = parse_rotations(notes, origin, positions);
  if (!rotations) return rotations.error();
  chain.rotations = std::move(rotations).value();
  if (!chain.rotations.empty() && !chain_is_pinned(chain.rotations, pinned)) {
    return Error(ErrorCode::Tampered, "the checkpoint stream's key chain contains no pinned key");
  }
  std::size_t segment = 0;
  std::optional<CheckpointVerifier> current;  // the key of this segment (with rotations)
  if (!chain.rotations.empty()) current = CheckpointVerifier::parse(current_key(chain.rotations, 0)).value();
  for (std::size_t i = 0; i < notes.size(); ++i) {
    if (segment < positions.size() && positions[segment] == i) {
      chain.rotation_at.push_back(chain.checkpoints.size());
      ++segment;
      current = CheckpointVerifier::parse(current_key(chain.rotations, segment)).value();
      continue;
    }
    Result<Checkpoint> cp = Error(ErrorCode::Tampered, "no signature by a trusted key");
    if (chain.rotations.empty()) {
      for (const auto& verifier : pinned) {
        cp = verifier.verify(notes[i], origin);
        if (cp || cp.error().code() == ErrorCode::IsolationViolation) break;
      }
    } else {
      cp = current->verify(notes[i], origin);
    }
    if (!cp) return entry_error(i, cp.error());
    chain.checkpoints.push_back(std::move(cp).value());
  }
  return chain;
}

}  // namespace tenantai::audit
