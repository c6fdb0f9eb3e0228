// ApiKeyAuthenticator: API keys → TenantContext. Keys are stored only as keyed BLAKE2b-256
// hashes (the hashing secret lives in guarded libsodium memory) and compared in constant time.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/core/api_key_store.h"
#include "tenantai/core/authenticator.h"

namespace tenantai {

struct ApiKeyOptions {
  // Wall clock used for expiry and rotation windows; injectable for tests.
  std::function<std::chrono::system_clock::time_point()> clock = [] {
    return std::chrono::system_clock::now();
  };
  // Where key records live (shared with the host). nullptr: an InMemoryApiKeyStore.
  std::shared_ptr<ApiKeyStore> store;
};

// A freshly issued key. `secret` is shown once; tenantai keeps only its hash.
struct IssuedKey {
  std::string key_id;  // public handle for revoke/rotate, e.g. "k_3f9a0c1d2e4b5a69"
  std::string secret;  // "tai_" + 43 base64url characters (256 bits)
};

// Public facts about a registered key (never the secret or its hash).
struct ApiKeyInfo {
  std::string key_id;
  TenantId tenant;
  std::string actor;
  std::optional<std::chrono::system_clock::time_point> expires_at;
  bool revoked = false;
};

// Thread-safe (as thread-safe as its store; the embedded one takes a shared lock to
// authenticate and an exclusive one to change a record). A store failure on authenticate()
// refuses the credential (Unauthenticated, fail closed); on issue/add/revoke it is thrown.
// Every failure (malformed, unknown, expired, revoked) returns Unauthenticated with the same
// message, so responses do not reveal which keys exist.
class ApiKeyAuthenticator final : public Authenticator {
 public:
  // Uses a fresh random hashing secret (keys do not survive the process unless re-added).
  explicit ApiKeyAuthenticator(ApiKeyOptions options = {});
  // Uses a caller-provided 32-byte hashing secret; throws InvalidArgument on the wrong size.
  ApiKeyAuthenticator(std::string_view hashing_secret, ApiKeyOptions options);
  ~ApiKeyAuthenticator() override;
  ApiKeyAuthenticator(const ApiKeyAuthenticator&) = delete;
  ApiKeyAuthenticator& operator=(const ApiKeyAuthenticator&) = delete;

  // Generates a new random key bound to `principal`, optionally expiring.
  IssuedKey issue(Principal principal,
                  std::optional<std::chrono::system_clock::time_point> expires_at = std::nullopt);

  // Registers an existing key (e.g. from a provisioning file). The key must be well formed
  // (see is_well_formed) and not already registered: InvalidArgument / AlreadyExists.
  // Returns the new key id.
  std::string add(std::string_view secret, Principal principal,
                  std::optional<std::chrono::system_clock::time_point> expires_at = std::nullopt);

  // Revokes immediately. NotFound for an unknown id.
  Status revoke(std::string_view key_id);

  // Issues a replacement for `key_id` with the same principal; the old key stays valid for
  // `overlap` and then expires (an already earlier expiry is kept). NotFound / Unauthenticated
  // (revoked or expired keys cannot be rotated).
  Result<IssuedKey> rotate(std::string_view key_id, std::chrono::seconds overlap);

  Result<TenantContext> authenticate(std::string_view credential,
                                     const RequestOptions& options = {}) const override;

  // Key facts for one tenant (for admin views); never includes secrets.
  std::vector<ApiKeyInfo> keys_of(const TenantId& tenant) const;
  std::size_t size() const;

  // Shape check only: "tai_" followed by 43 base64url characters.
  static bool is_well_formed(std::string_view secret) noexcept;

 private:
  ApiKeyDigest digest(std::string_view secret) const;
  std::string insert(const ApiKeyDigest& d, Principal principal,
                     std::optional<std::chrono::system_clock::time_point> expires_at);

  ApiKeyOptions options_;
  unsigned char* secret_ = nullptr;  // 32 bytes, sodium_malloc'ed, read-only between uses
};

}  // namespace tenantai
