// Key rotation of a tenant log's checkpoint signer, as a chain the old key signs: a C2SP signed
// note in the checkpoint stream, between the last checkpoint of the old key and the first of the
// new one,
//
//   tenantai.audit/acme-bank            <- origin
//   tenantai-key-rotation
//   <old verifier key>
//   <new verifier key>
//
//   — tenantai.audit/acme-bank <signature by the old key>
//
// A verifier pinned to any key of the chain follows it both ways (forward from an old pinned
// key, backward from the current one), and each checkpoint must be signed by the key that was
// current where it stands, so a retired (possibly stolen) key signs nothing after its rotation.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tenantai/audit/checkpoint.h"
#include "tenantai/core/error.h"

namespace tenantai::audit {

inline constexpr std::string_view kKeyRotationLine = "tenantai-key-rotation";

struct KeyRotation {
  std::string origin{};
  std::string old_key{};  // verifier keys ("<name>+<hash>+<key>")
  std::string new_key{};
  std::string note{};
};

// The rotation statement `old_signer` signs for `origin` naming `new_verifier_key`.
std::string sign_key_rotation(const CheckpointSigner& old_signer, std::string_view origin,
                              std::string_view new_verifier_key);

// Whether a stored note is a rotation statement (its second line), not a checkpoint.
bool is_key_rotation(std::string_view note);

// Parses a rotation statement and checks its signature by the old key it names. Tampered when
// malformed or not signed by that key; IsolationViolation for another origin.
Result<KeyRotation> parse_key_rotation(std::string_view note, std::string_view expected_origin);

// A checkpoint stream (checkpoints and rotation statements, oldest first) resolved.
struct CheckpointChain {
  std::vector<Checkpoint> checkpoints{};
  std::vector<KeyRotation> rotations{};
  std::vector<std::size_t> rotation_at{};  // per rotation: how many checkpoints precede it
};

// Verifies every note of the stream for `origin`: rotations form one chain (each names as old
// key the previous one's new key) that contains one of `pinned`; each checkpoint is signed by
// the key current at its place (without rotations: by any of `pinned`). Error naming the entry
// (its position) otherwise. Pure; thread-safe.
Result<CheckpointChain> verify_checkpoint_chain(const std::vector<std::string>& notes, std::string_view origin,
                                                const std::vector<CheckpointVerifier>& pinned);

}  // namespace tenantai::audit
