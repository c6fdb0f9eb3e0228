// SemanticCache: "a similar question was answered before" — nearest cached query embedding,
// searched only inside the scope tenant's own partition (its own contiguous array of
// embeddings), never across tenants, and never with a threshold below the operator's floor.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tenantai/cache/cache_stats.h"
#include "tenantai/core/error.h"
#include "tenantai/core/scope.h"
#include "tenantai/core/tenant_partitions.h"
#include "tenantai/crypto/sealer.h"

namespace tenantai::cache {

struct SemanticCacheOptions {
  std::size_t dimension = 384;   // every embedding must have exactly this length
  float operator_floor = 0.90f;  // lowest cosine similarity that may ever count as a hit
  float default_threshold = 0.95f;  // per-tenant starting threshold; >= operator_floor
  // Capacity of a tenant's partition (bytes count embedding + value + model/prompt ids).
  std::function<CacheQuota(const TenantId&)> quota_for = [](const TenantId&) { return CacheQuota{}; };
  std::chrono::milliseconds ttl{std::chrono::hours(1)};  // zero = no expiry
  std::function<std::chrono::steady_clock::time_point()> clock = [] { return std::chrono::steady_clock::now(); };
  // Optional: values stored sealed (kind "cache.semantic"). Not owned; must outlive the cache.
  crypto::Sealer* sealer = nullptr;
};

// Which answers are comparable: only entries stored for the same model and prompt version.
struct SemanticKey {
  std::string_view model_id;        // non-empty
  std::string_view prompt_version;  // may be empty
};

// A semantic hit: the cached answer and how similar its query was (cosine, in [threshold, 1]).
struct SemanticHit {
  std::string value;
  float similarity = 0;
};

// Thread-safe: one lock per tenant partition (partitions in a sharded map). Embeddings are
// L2-normalised on the way in, so similarity is the cosine. Eviction within a tenant's quota
// drops that tenant's least recently used entry.
class SemanticCache {
 public:
  // Throws InvalidArgument when dimension is 0, the floor is outside (0, 1] or the default
  // threshold is below the floor or above 1.
  explicit SemanticCache(SemanticCacheOptions options = {});
  ~SemanticCache();
  SemanticCache(const SemanticCache&) = delete;
  SemanticCache& operator=(const SemanticCache&) = delete;

  // The best cached answer for `query` among the scope tenant's entries with the same key whose
  // similarity reaches the tenant's threshold; nullopt otherwise. InvalidArgument on a wrong
  // dimension, empty model id or a zero/non-finite vector.
  template <typename Tag>
  Scoped<std::optional<SemanticHit>, Tag> lookup(const TenantScope<Tag>& scope, const SemanticKey& key,
                                                 std::span<const float> query) {
    return scope.bind(lookup_in(*partitions_.get_or_create(scope), scope.context(), key, query));
  }

  // Adds an entry to the scope tenant's partition (evicting its own LRU entries to fit the
  // quota; nothing when opted out). InvalidArgument as for lookup, or a value over the quota.
  template <typename Tag>
  Status store(const TenantScope<Tag>& scope, const SemanticKey& key, std::span<const float> query,
               std::string_view value) {
    return store_in(*partitions_.get_or_create(scope), scope.context(), key, query, value);
  }

  // Sets the scope tenant's similarity threshold. A tenant may raise it (fewer, closer hits)
  // but never lower it below the operator floor: InvalidArgument, threshold unchanged.
  template <typename Tag>
  Status set_threshold(const TenantScope<Tag>& scope, float threshold) {
    return set_threshold_in(*partitions_.get_or_create(scope), threshold);
  }
  template <typename Tag>
  float threshold(const TenantScope<Tag>& scope) const {
    return threshold_in(partitions_.find(scope).get());
  }

  // Drops the scope tenant's entries (counters kept); returns how many.
  template <typename Tag>
  std::size_t flush(const TenantScope<Tag>& scope) {
    return flush_in(partitions_.find(scope).get());
  }
  // See ResponseCache::set_opt_out.
  template <typename Tag>
  void set_opt_out(const TenantScope<Tag>& scope, bool opted_out) {
    set_opt_out_in(*partitions_.get_or_create(scope), opted_out);
  }
  template <typename Tag>
  Scoped<CacheStats, Tag> stats(const TenantScope<Tag>& scope) const {
    return scope.bind(stats_in(partitions_.find(scope).get()));
  }

  float operator_floor() const noexcept;
  std::size_t dimension() const noexcept;

 private:
  struct Impl;       // validated options
  struct Partition;  // one tenant's contiguous embedding rows, answers, threshold, lock

  std::optional<SemanticHit> lookup_in(Partition& partition, const TenantContext& context, const SemanticKey& key,
                                       std::span<const float> query);
  Status store_in(Partition& partition, const TenantContext& context, const SemanticKey& key,
                  std::span<const float> query, std::string_view value);
  Status set_threshold_in(Partition& partition, float threshold) const;
  float threshold_in(const Partition* partition) const;
  static std::size_t flush_in(Partition* partition);
  static void set_opt_out_in(Partition& partition, bool opted_out);
  static CacheStats stats_in(const Partition* partition);

  std::unique_ptr<Impl> impl_;
  mutable TenantPartitions<Partition> partitions_;
};

}  // namespace tenantai::cache
