#include <sodium.h>

#include <cstring>
#include <mutex>

#include "tenantai/core/api_key_store.h"

namespace tenantai {

std::size_t InMemoryApiKeyStore::DigestHash::operator()(const ApiKeyDigest& d) const noexcept {
  std::size_t h;
  std::memcpy(&h, d.data(), sizeof h);  // keyed-hash output is uniform already
  return h;
}

bool InMemoryApiKeyStore::DigestEqual::operator()(const ApiKeyDigest& a, const ApiKeyDigest& b) const noexcept {
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Status InMemoryApiKeyStore::insert(const ApiKeyRecord& record) {
  std::unique_lock lock(mutex_);
  if (by_digest_.count(record.digest) != 0) return Error(ErrorCode::AlreadyExists, "this API key is already registered");
  if (by_key_id_.count(record.key_id) != 0) {
    return Error(ErrorCode::AlreadyExists, "API key id \"" + escape_for_message(record.key_id) + "\" is taken");
  }
  by_digest_.emplace(record.digest, record);
  by_key_id_.emplace(record.key_id, record.digest);
  return {};
}

std::optional<ApiKeyRecord> InMemoryApiKeyStore::find(const ApiKeyDigest& digest) const {
  std::shared_lock lock(mutex_);
  auto it = by_digest_.find(digest);
  if (it == by_digest_.end()) return std::nullopt;
  return it->second;
}

std::optional<ApiKeyRecord> InMemoryApiKeyStore::find_id(std::string_view key_id) const {
  std::shared_lock lock(mutex_);
  auto it = by_key_id_.find(std::string(key_id));
  if (it == by_key_id_.end()) return std::nullopt;
  return by_digest_.at(it->second);
}

Status InMemoryApiKeyStore::update(std::string_view key_id, bool revoked,
                                   std::optional<std::chrono::system_clock::time_point> expires_at) {
  std::unique_lock lock(mutex_);
  auto it = by_key_id_.find(std::string(key_id));
  if (it == by_key_id_.end()) return Error(ErrorCode::NotFound, "no API key with id \"" + escape_for_message(key_id) + "\"");
  ApiKeyRecord& record = by_digest_.at(it->second);
  record.revoked = revoked;
  record.expires_at = expires_at;
  return {};
}

std::vector<ApiKeyRecord> InMemoryApiKeyStore::of_tenant(const TenantId& tenant) const {
  std::shared_lock lock(mutex_);
  std::vector<ApiKeyRecord> out;
  for (const auto& [digest, record] : by_digest_) {
    if (record.principal.tenant == tenant) out.push_back(record);
  }
  return out;
}

std::size_t InMemoryApiKeyStore::size() const {
  std::shared_lock lock(mutex_);
  return by_digest_.size();
}

}  // namespace tenantai
