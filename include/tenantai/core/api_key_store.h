// ApiKeyStore: where ApiKeyAuthenticator keeps its key records (keyed hashes of the secrets,
// never the secrets). The embedded default, InMemoryApiKeyStore, lives and dies with the
// process (keys come back from the tenants file on each start); a shared store (a database)
// lets a key issued on one replica work on every replica that uses the same hashing secret.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tenantai/core/error.h"
#include "tenantai/core/tenant_context.h"

namespace tenantai {

// Keyed BLAKE2b-256 of a key's secret (ApiKeyAuthenticator's hashing secret is the key).
using ApiKeyDigest = std::array<unsigned char, 32>;

// One registered key. Plain value type.
struct ApiKeyRecord {
  std::string key_id;  // public handle, unique in the store
  ApiKeyDigest digest{};
  Principal principal;
  std::optional<std::chrono::system_clock::time_point> expires_at;
  bool revoked = false;
};

// Implementations must be thread-safe. Lookups by digest must not leak timing about other
// records (hash-indexed, compared in constant time). Failures of the backing store are thrown
// as StorageFailure / Unavailable; the authenticator then refuses the credential (fail closed).
class ApiKeyStore {
 public:
  virtual ~ApiKeyStore() = default;

  // Adds a record. AlreadyExists (nothing stored) when its digest or key id is present.
  virtual Status insert(const ApiKeyRecord& record) = 0;
  // The record with this digest / key id, if any (revoked and expired ones included).
  virtual std::optional<ApiKeyRecord> find(const ApiKeyDigest& digest) const = 0;
  virtual std::optional<ApiKeyRecord> find_id(std::string_view key_id) const = 0;
  // Sets revoked / expires_at of the record with this key id. NotFound for an unknown id.
  virtual Status update(std::string_view key_id, bool revoked,
                        std::optional<std::chrono::system_clock::time_point> expires_at) = 0;
  // Every record of one tenant, in no particular order.
  virtual std::vector<ApiKeyRecord> of_tenant(const TenantId& tenant) const = 0;
  virtual std::size_t size() const = 0;
};

// The embedded default: two hash maps under one shared mutex. Thread-safe; never throws except
// std::bad_alloc.
class InMemoryApiKeyStore final : public ApiKeyStore {
 public:
  Status insert(const ApiKeyRecord& record) override;
  std::optional<ApiKeyRecord> find(const ApiKeyDigest& digest) const override;
  std::optional<ApiKeyRecord> find_id(std::string_view key_id) const override;
  Status update(std::string_view key_id, bool revoked,
                std::optional<std::chrono::system_clock::time_point> expires_at) override;
  std::vector<ApiKeyRecord> of_tenant(const TenantId& tenant) const override;
  std::size_t size() const override;

 private:
  struct DigestHash {
    std::size_t operator()(const ApiKeyDigest& d) const noexcept;
  };
  struct DigestEqual {  // constant-time comparison (sodium_memcmp)
    bool operator()(const ApiKeyDigest& a, const ApiKeyDigest& b) const noexcept;
  };
  mutable std::shared_mutex mutex_;
  std::unordered_map<ApiKeyDigest, ApiKeyRecord, DigestHash, DigestEqual> by_digest_;
  std::unordered_map<std::string, ApiKeyDigest> by_key_id_;
};

}  // namespace tenantai
