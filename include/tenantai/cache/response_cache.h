// ResponseCache: the exact-match cache of model responses, one hard partition per tenant.
//
//   cache.store(scope, {model, prompt_version, params, input}, answer);
//   auto hit = cache.lookup(scope, {model, prompt_version, params, input});  // Scoped<optional>
//
// The key is a keyed BLAKE2b-256 (a secret of the tenant's own) over the model id, prompt
// version, parameters and normalised input. The tenant is the partition, not a key prefix:
// each tenant has its own index, LRU order, TTL clock, quota, counters and lock, reached only
// through that tenant's TenantScope. Identical prompts of two tenants never share an entry.
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
#include "tenantai/cache/response_key.h"
#include "tenantai/core/error.h"
#include "tenantai/core/scope.h"
#include "tenantai/core/tenant_partitions.h"
#include "tenantai/crypto/sealer.h"

namespace tenantai::cache {

struct ResponseCacheOptions {
  // Capacity of a tenant's partition, asked once when the partition is created (default: the
  // CacheQuota defaults). Bytes count the stored value (sealed size when sealing) plus the
  // model id and prompt version.
  std::function<CacheQuota(const TenantId&)> quota_for = [](const TenantId&) { return CacheQuota{}; };
  // Entries older than this miss and are dropped; zero = no expiry.
  std::chrono::milliseconds ttl{std::chrono::hours(1)};
  // Monotonic clock for TTLs; injectable for tests.
  std::function<std::chrono::steady_clock::time_point()> clock = [] { return std::chrono::steady_clock::now(); };
  // Optional: when set, values are stored sealed with the tenant's key (kind "cache.response",
  // object id = the entry's key digest) and opened on every hit. Not owned; must outlive the cache.
  crypto::Sealer* sealer = nullptr;
};

// Thread-safe: tenants are independent (sharded partition map, one lock per tenant partition).
class ResponseCache {
 public:
  explicit ResponseCache(ResponseCacheOptions options = {});
  ~ResponseCache();
  ResponseCache(const ResponseCache&) = delete;
  ResponseCache& operator=(const ResponseCache&) = delete;

  // The cached response for `key` in the scope tenant's partition, or nullopt (miss, expired,
  // tenant opted out). A hit moves the entry to the front of the tenant's LRU order.
  // Throws InvalidArgument for an empty model id; with a sealer, a value that fails to open is
  // dropped and the error (Tampered / CryptoFailure) is thrown, never returned as a hit.
  template <typename Tag>
  Scoped<std::optional<std::string>, Tag> lookup(const TenantScope<Tag>& scope, const ResponseKey& key) {
    return scope.bind(lookup_in(*partitions_.get_or_create(scope), scope.context(), key));
  }

  // Looks up several keys of the scope tenant at once: result[i] answers keys[i] exactly as
  // lookup(scope, keys[i]) would (LRU moves, hit/miss counters, TTL, opt-out). Cheaper per key
  // than lookup(): the keyed BLAKE2b digests are computed 8 (AVX-512) or 4 (AVX2) keys at a time
  // in SIMD lanes, and the partition lock is taken once per 64 keys. For callers that hold many
  // requests at once (batch jobs, benchmark harnesses, request coalescing). Errors as lookup():
  // InvalidArgument if any model id is empty (nothing looked up); with a sealer, the first value
  // that fails to open is dropped and its error thrown.
  template <typename Tag>
  Scoped<std::vector<std::optional<std::string>>, Tag> lookup_many(const TenantScope<Tag>& scope,
                                                                   std::span<const ResponseKey> keys) {
    return scope.bind(lookup_many_in(*partitions_.get_or_create(scope), scope.context(), keys));
  }

  // Stores (or replaces) the response for `key` in the scope tenant's partition, evicting that
  // tenant's least-recently-used entries until it fits its quota. Does nothing (success) when the
  // tenant opted out. Errors, with nothing stored: InvalidArgument (empty model id, value larger
  // than the tenant's whole byte quota); the sealer's CryptoFailure.
  template <typename Tag>
  Status store(const TenantScope<Tag>& scope, const ResponseKey& key, std::string_view response) {
    return store_in(*partitions_.get_or_create(scope), scope.context(), key, response);
  }

  // Drops the scope tenant's entries made for `model_id` / `prompt_version`; returns how many.
  template <typename Tag>
  std::size_t invalidate_model(const TenantScope<Tag>& scope, std::string_view model_id) {
    return invalidate_in(partitions_.find(scope).get(), model_id, /*by_model=*/true);
  }
  template <typename Tag>
  std::size_t invalidate_prompt_version(const TenantScope<Tag>& scope, std::string_view prompt_version) {
    return invalidate_in(partitions_.find(scope).get(), prompt_version, /*by_model=*/false);
  }

  // Drops all of the scope tenant's entries (counters are kept); returns how many.
  template <typename Tag>
  std::size_t flush(const TenantScope<Tag>& scope) {
    return flush_in(partitions_.find(scope).get());
  }

  // Opting out (e.g. for personal data) flushes the tenant's entries; while opted out, store()
  // keeps nothing and lookup() always misses. Opting back in starts empty.
  template <typename Tag>
  void set_opt_out(const TenantScope<Tag>& scope, bool opted_out) {
    set_opt_out_in(*partitions_.get_or_create(scope), opted_out);
  }
  template <typename Tag>
  bool opted_out(const TenantScope<Tag>& scope) const {
    return opted_out_in(partitions_.find(scope).get());
  }

  // The scope tenant's counters (all zero if it never used the cache).
  template <typename Tag>
  Scoped<CacheStats, Tag> stats(const TenantScope<Tag>& scope) const {
    return scope.bind(stats_in(partitions_.find(scope).get()));
  }

 private:
  struct Impl;       // options and the cache-wide master secret
  struct Partition;  // one tenant's entries, LRU order, quota, counters and lock

  std::optional<std::string> lookup_in(Partition& partition, const TenantContext& context, const ResponseKey& key);
  std::vector<std::optional<std::string>> lookup_many_in(Partition& partition, const TenantContext& context,
                                                         std::span<const ResponseKey> keys);
  Status store_in(Partition& partition, const TenantContext& context, const ResponseKey& key,
                  std::string_view response);
  static std::size_t invalidate_in(Partition* partition, std::string_view what, bool by_model);
  static std::size_t flush_in(Partition* partition);
  static void set_opt_out_in(Partition& partition, bool opted_out);
  static bool opted_out_in(const Partition* partition);
  static CacheStats stats_in(const Partition* partition);

  std::unique_ptr<Impl> impl_;
  mutable TenantPartitions<Partition> partitions_;
};

}  // namespace tenantai::cache
