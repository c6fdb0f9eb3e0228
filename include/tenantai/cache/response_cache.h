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
#include "tenantai/cache/response_cache_store.h"
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

// The embedded ResponseCacheStore. Thread-safe: tenants are independent (sharded partition
// map, one lock per tenant partition). Errors as ResponseCacheStore documents, plus: store()
// returns InvalidArgument (nothing stored) for a value larger than the tenant's whole byte
// quota; with a sealer, a value that fails to open is dropped and its error thrown. A hit moves
// the entry to the front of the tenant's LRU order; store() evicts that tenant's
// least-recently-used entries until the new one fits its quota. lookup_many() computes the keyed
// BLAKE2b digests 8 (AVX-512) or 4 (AVX2) keys at a time in SIMD lanes and takes the partition
// lock once per 64 keys (for batch jobs, benchmark harnesses, request coalescing).
class ResponseCache final : public ResponseCacheStore {
 public:
  explicit ResponseCache(ResponseCacheOptions options = {});
  ~ResponseCache() override;
  ResponseCache(const ResponseCache&) = delete;
  ResponseCache& operator=(const ResponseCache&) = delete;

 protected:
  std::optional<std::string> do_lookup(const TenantContext& context, const ResponseKey& key) override;
  std::vector<std::optional<std::string>> do_lookup_many(const TenantContext& context,
                                                         std::span<const ResponseKey> keys) override;
  Status do_store(const TenantContext& context, const ResponseKey& key, std::string_view response) override;
  std::size_t do_invalidate(const TenantContext& context, std::string_view what, bool by_model) override;
  std::size_t do_flush(const TenantContext& context) override;
  void do_set_opt_out(const TenantContext& context, bool opted_out) override;
  bool do_opted_out(const TenantContext& context) const override;
  CacheStats do_stats(const TenantContext& context) const override;

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
