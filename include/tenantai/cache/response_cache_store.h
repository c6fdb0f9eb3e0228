// ResponseCacheStore: the exact-response cache as the pipeline uses it. The embedded default is
// ResponseCache (in-process, one hard partition per tenant); a host can supply its own (e.g. an
// in-process L1 in front of a shared L2) through PlatformOptions::response_cache.
//
//   with_tenant(ctx, [&](auto scope) {
//     if (auto hit = scope.view(cache.lookup(scope, key))) return *hit;
//     cache.store(scope, key, answer);
//   });
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/cache/cache_stats.h"
#include "tenantai/cache/response_key.h"
#include "tenantai/core/error.h"
#include "tenantai/core/scope.h"

namespace tenantai::cache {

// Implementations must be thread-safe and keep tenants apart: an entry stored in one tenant's
// scope is never returned in another's, whatever the key. Errors are thrown (lookup) or
// returned (store) as the concrete class documents; a failure never turns into a hit.
class ResponseCacheStore {
 public:
  virtual ~ResponseCacheStore() = default;

  // The cached response for `key` in the scope tenant's cache, or nullopt (miss, expired,
  // opted out). Throws InvalidArgument for an empty model id, Tampered / CryptoFailure for a
  // value that fails to open (dropped, never returned).
  template <typename Tag>
  Scoped<std::optional<std::string>, Tag> lookup(const TenantScope<Tag>& scope, const ResponseKey& key) {
    return scope.bind(do_lookup(scope.context(), key));
  }
  // result[i] answers keys[i] exactly as lookup(scope, keys[i]) would.
  template <typename Tag>
  Scoped<std::vector<std::optional<std::string>>, Tag> lookup_many(const TenantScope<Tag>& scope,
                                                                   std::span<const ResponseKey> keys) {
    return scope.bind(do_lookup_many(scope.context(), keys));
  }
  // Stores (or replaces) the response; success without storing while the tenant opted out.
  template <typename Tag>
  Status store(const TenantScope<Tag>& scope, const ResponseKey& key, std::string_view response) {
    return do_store(scope.context(), key, response);
  }
  // Drops the scope tenant's entries made for a model / prompt version; returns how many.
  template <typename Tag>
  std::size_t invalidate_model(const TenantScope<Tag>& scope, std::string_view model_id) {
    return do_invalidate(scope.context(), model_id, /*by_model=*/true);
  }
  template <typename Tag>
  std::size_t invalidate_prompt_version(const TenantScope<Tag>& scope, std::string_view prompt_version) {
    return do_invalidate(scope.context(), prompt_version, /*by_model=*/false);
  }
  // Drops all of the scope tenant's entries; returns how many.
  template <typename Tag>
  std::size_t flush(const TenantScope<Tag>& scope) {
    return do_flush(scope.context());
  }
  // Opting out flushes the tenant's entries; while opted out nothing is stored or found.
  template <typename Tag>
  void set_opt_out(const TenantScope<Tag>& scope, bool opted_out) {
    do_set_opt_out(scope.context(), opted_out);
  }
  template <typename Tag>
  bool opted_out(const TenantScope<Tag>& scope) const {
    return do_opted_out(scope.context());
  }
  // The scope tenant's counters (all zero if it never used the cache).
  template <typename Tag>
  Scoped<CacheStats, Tag> stats(const TenantScope<Tag>& scope) const {
    return scope.bind(do_stats(scope.context()));
  }

 protected:
  // Called with a usable context of the tenant whose cache is meant (the scope checked it).
  virtual std::optional<std::string> do_lookup(const TenantContext& context, const ResponseKey& key) = 0;
  // Default: do_lookup key by key.
  virtual std::vector<std::optional<std::string>> do_lookup_many(const TenantContext& context,
                                                                 std::span<const ResponseKey> keys);
  virtual Status do_store(const TenantContext& context, const ResponseKey& key, std::string_view response) = 0;
  virtual std::size_t do_invalidate(const TenantContext& context, std::string_view what, bool by_model) = 0;
  virtual std::size_t do_flush(const TenantContext& context) = 0;
  virtual void do_set_opt_out(const TenantContext& context, bool opted_out) = 0;
  virtual bool do_opted_out(const TenantContext& context) const = 0;
  virtual CacheStats do_stats(const TenantContext& context) const = 0;
};

}  // namespace tenantai::cache
