// EmbeddingCache: text → embedding vector, per tenant. An embedding computed for tenant A's
// text is never returned to tenant B, even for byte-identical text (and B's lookups cannot
// reveal, by timing or by hit, whether A embedded that text).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/cache/cache_stats.h"
#include "tenantai/core/error.h"
#include "tenantai/core/scope.h"
#include "tenantai/core/tenant_partitions.h"
#include "tenantai/crypto/sealer.h"

namespace tenantai::cache {

struct EmbeddingCacheOptions {
  // Capacity of a tenant's partition (bytes count 4 per float plus the model id).
  std::function<CacheQuota(const TenantId&)> quota_for = [](const TenantId&) { return CacheQuota{}; };
  std::chrono::milliseconds ttl{std::chrono::hours(24)};  // zero = no expiry
  std::function<std::chrono::steady_clock::time_point()> clock = [] { return std::chrono::steady_clock::now(); };
  // Optional: when set, vectors are stored sealed with the tenant's key (kind "cache.embedding",
  // object id = the entry's key digest) and opened on every hit; an embedding can be inverted
  // to approximate its text, so it deserves the same protection as the text. Not owned; must
  // outlive the cache.
  crypto::Sealer* sealer = nullptr;
};

// Thread-safe (one lock per tenant partition). Keys are keyed BLAKE2b-256 digests (tenant
// secret) of model id and text; the text itself is not kept. LRU + TTL per tenant.
class EmbeddingCache {
 public:
  explicit EmbeddingCache(EmbeddingCacheOptions options = {});
  ~EmbeddingCache();
  EmbeddingCache(const EmbeddingCache&) = delete;
  EmbeddingCache& operator=(const EmbeddingCache&) = delete;

  // The cached vector of `text` under `model_id` for the scope tenant, or nullopt.
  // InvalidArgument for an empty model id; with a sealer, a vector that fails to open is
  // dropped and the error (Tampered / CryptoFailure) is thrown, never returned as a hit.
  template <typename Tag>
  Scoped<std::optional<std::vector<float>>, Tag> lookup(const TenantScope<Tag>& scope,
                                                        std::string_view model_id, std::string_view text) {
    return scope.bind(lookup_in(*partitions_.get_or_create(scope), scope.context(), model_id, text));
  }

  // Stores the vector (replacing any previous one). InvalidArgument for an empty model id or
  // vector, or one larger than the tenant's byte quota; the sealer's CryptoFailure; nothing
  // stored then.
  template <typename Tag>
  Status store(const TenantScope<Tag>& scope, std::string_view model_id, std::string_view text,
               std::span<const float> embedding) {
    return store_in(*partitions_.get_or_create(scope), scope.context(), model_id, text, embedding);
  }

  // Drops the scope tenant's entries (counters kept); returns how many.
  template <typename Tag>
  std::size_t flush(const TenantScope<Tag>& scope) {
    return flush_in(partitions_.find(scope).get());
  }
  template <typename Tag>
  Scoped<CacheStats, Tag> stats(const TenantScope<Tag>& scope) const {
    return scope.bind(stats_in(partitions_.find(scope).get()));
  }

 private:
  struct Impl;       // options and the cache-wide master secret
  struct Partition;  // one tenant's entries, LRU order, quota, counters and lock

  std::optional<std::vector<float>> lookup_in(Partition& partition, const TenantContext& context,
                                              std::string_view model_id, std::string_view text);
  Status store_in(Partition& partition, const TenantContext& context, std::string_view model_id,
                  std::string_view text, std::span<const float> embedding);
  static std::size_t flush_in(Partition* partition);
  static CacheStats stats_in(const Partition* partition);

  std::unique_ptr<Impl> impl_;
  mutable TenantPartitions<Partition> partitions_;
};

}  // namespace tenantai::cache
