// Checkpoints in the C2SP tlog-checkpoint format, signed as C2SP signed notes with Ed25519:
//
//   tenantai.audit/acme-corp          <- origin (names the tenant's log)
//   1024                              <- tree size
//   3q2+7w...=                        <- base64 root hash
//                                     <- blank line
//   — tenantai-audit Ab3x...=         <- signer name, base64(key hash[4] || signature[64])
//
// Key hash = SHA-256(name || 0x0A || 0x01 || public key)[0:4]; the signature covers the note
// text up to and including the root hash line's newline.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tenantai/audit/merkle.h"
#include "tenantai/core/error.h"
#include "tenantai/core/tenant_id.h"
#include "tenantai/crypto/key_lease.h"

namespace tenantai::audit {

// A parsed checkpoint body (the signature is checked by CheckpointVerifier).
struct Checkpoint {
  std::string origin{};
  std::uint64_t size = 0;
  Hash root{};
  std::string note{};  // the full signed note text

  // The body text "origin\nsize\nbase64(root)\n".
  std::string body() const;
};

// The log origin for a tenant: "tenantai.audit/<tenant>".
std::string origin_for(const TenantId& tenant);

// Holds an Ed25519 secret key in guarded memory; signs checkpoint notes. Thread-safe (const use).
class CheckpointSigner {
 public:
  // A fresh random key pair. `name` is the signer name in notes (no spaces, no '+', non-empty).
  static CheckpointSigner generate(std::string name = "tenantai-audit");
  // Deterministic key pair from a 32-byte seed (InvalidArgument on the wrong size).
  static CheckpointSigner from_seed(std::string_view seed, std::string name = "tenantai-audit");
  // Reads a key file written by save(); StorageFailure / InvalidArgument naming the path.
  static CheckpointSigner load(const std::string& path);

  ~CheckpointSigner();
  CheckpointSigner(CheckpointSigner&& other) noexcept;
  CheckpointSigner& operator=(CheckpointSigner&&) = delete;
  CheckpointSigner(const CheckpointSigner&) = delete;
  CheckpointSigner& operator=(const CheckpointSigner&) = delete;

  // Writes "<name> <base64 seed>" with mode 0600 (AlreadyExists if the file exists).
  void save(const std::string& path) const;

  const std::string& name() const noexcept { return name_; }
  // The verifier key in signed-note form: "<name>+<key hash hex>+<base64(0x01 || pk)>".
  std::string verifier_key() const;

  // A signed note for (origin, size, root).
  Checkpoint sign(std::string_view origin, std::uint64_t size, const Hash& root) const;
  // A signed note of any text (lines ending in '\n', e.g. a key rotation statement).
  std::string sign_note(std::string_view text) const;

  // A 32-byte key derived from this signing key for `purpose` (keyed BLAKE2b-256 of the purpose
  // under the Ed25519 seed): the audit log's record-authenticator key, so only a holder of the
  // signing key can write a record the log will accept after a restart.
  crypto::KeyLease derive_key(std::string_view purpose) const;

 private:
  CheckpointSigner(std::string name, const unsigned char* seed);
  std::string name_{};
  unsigned char* secret_ = nullptr;  // 64-byte Ed25519 secret key, sodium_malloc'ed
  std::array<unsigned char, 32> public_{};
};

// Checks signed notes against one pinned key and one pinned origin (never an origin taken from
// the note itself). Immutable; thread-safe.
class CheckpointVerifier {
 public:
  // Parses a verifier key string ("<name>+<hash hex>+<base64(0x01||pk)>"); InvalidArgument if
  // malformed or the hash does not match.
  static Result<CheckpointVerifier> parse(std::string_view verifier_key);

  // Parses and verifies `note`: Tampered (bad signature, no signature by this key, malformed
  // note) or IsolationViolation (origin differs from `expected_origin`).
  Result<Checkpoint> verify(std::string_view note, std::string_view expected_origin) const;

  // Whether `note` (any signed note) carries a valid signature by this key over its text, and no
  // invalid one.
  bool verify_text(std::string_view note) const;

  const std::string& name() const noexcept { return name_; }
  // The verifier key string this was parsed from (canonical form).
  std::string key() const;

 private:
  CheckpointVerifier() = default;
  std::string name_{};
  std::array<unsigned char, 4> key_hash_{};
  std::array<unsigned char, 32> public_{};
};

// Base64 (standard alphabet, padded) helpers used by notes and bundles.
std::string to_base64(const unsigned char* data, std::size_t size);
Result<std::string> from_base64(std::string_view text);

}  // namespace tenantai::audit
