#include "tenantai/cache/response_cache.h"

#include <algorithm>
#include <mutex>

#include "cache/blake2b_lanes.h"
#include "cache/keyed_digest.h"
#include "cache/lru_partition.h"
#include "cache/quota_check.h"
#include "cache/sealed_entry.h"

namespace tenantai::cache {

namespace {
constexpr std::string_view kSealKind = "cache.response";

struct ResponsePayload {
  std::string value;  // sealed when the cache has a sealer
  std::string model_id;
  std::string prompt_version;
};
}  // namespace

struct ResponseCache::Impl {
  explicit Impl(ResponseCacheOptions o) : options(std::move(o)) {}
  ResponseCacheOptions options;
  detail::MasterSecret master;
};

struct ResponseCache::Partition {
  Partition(const detail::MasterSecret& master, const TenantId& tenant, CacheQuota quota)
      : key(master, tenant), lru(quota) {}
  // The tenant's cache-key secret (key block absorbed for lookup_many). Immutable: read
  // without the lock.
  detail::PreparedBlake2bKey key;
  mutable std::mutex mutex;
  detail::LruPartition<ResponsePayload> lru;
  bool opted_out = false;
};

ResponseCache::ResponseCache(ResponseCacheOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))),
      partitions_([impl = impl_.get()](const TenantId& tenant) {
        return std::make_shared<Partition>(impl->master, tenant,
                                           detail::checked_quota(impl->options.quota_for(tenant), tenant));
      }) {}

ResponseCache::~ResponseCache() = default;

namespace detail {
std::string response_key_bytes(const ResponseKey& key) {
  std::string out;
  AppendKeyBytes sink{out};
  feed_response_key(sink, key);
  return out;
}
}  // namespace detail

namespace {
using detail::feed_response_key;

detail::Digest digest_of(const detail::PreparedBlake2bKey& secret, const ResponseKey& key) {
  detail::KeyedDigest d(secret.key());
  feed_response_key(d, key);
  return d.finish();
}

// Keys per batch step: digests computed together, then one lock acquisition.
constexpr std::size_t kBatchStep = 64;
}  // namespace

std::optional<std::string> ResponseCache::lookup_in(Partition& partition, const TenantContext& context,
                                                    const ResponseKey& key) {
  detail::require_model_id(key.model_id, "ResponseCache");
  const detail::Digest digest = digest_of(partition.key, key);
  std::string value;
  {
    std::lock_guard lock(partition.mutex);
    if (partition.opted_out) {
      ++partition.lru.stats().misses;
      return std::nullopt;
    }
    const auto* entry = partition.lru.find(digest, impl_->options.clock());
    if (entry == nullptr) return std::nullopt;
    value = entry->payload.value;
  }
  if (impl_->options.sealer == nullptr) return value;
  return detail::open_or_drop(*impl_->options.sealer, partition, context, kSealKind, digest, value);
}

std::vector<std::optional<std::string>> ResponseCache::lookup_many_in(Partition& partition,
                                                                      const TenantContext& context,
                                                                      std::span<const ResponseKey> keys) {
  for (const ResponseKey& key : keys) detail::require_model_id(key.model_id, "ResponseCache");
  std::vector<std::optional<std::string>> results(keys.size());
  std::string bytes;
  std::size_t ends[kBatchStep];
  std::string_view messages[kBatchStep];
  detail::Digest digests[kBatchStep];
  for (std::size_t start = 0; start < keys.size(); start += kBatchStep) {
    const std::size_t n = std::min(kBatchStep, keys.size() - start);
    bytes.clear();
    detail::AppendKeyBytes sink{bytes};
    for (std::size_t i = 0; i < n; ++i) {
      feed_response_key(sink, keys[start + i]);
      ends[i] = bytes.size();
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t begin = i == 0 ? 0 : ends[i - 1];
      messages[i] = std::string_view(bytes).substr(begin, ends[i] - begin);
    }
    detail::blake2b256_many(partition.key, messages, n, digests);
    {
      std::lock_guard lock(partition.mutex);
      if (partition.opted_out) {
        partition.lru.stats().misses += n;
        continue;
      }
      const auto now = impl_->options.clock();
      for (std::size_t i = 0; i < n; ++i) {
        if (const auto* entry = partition.lru.find(digests[i], now)) results[start + i] = entry->payload.value;
      }
    }
    if (impl_->options.sealer == nullptr) continue;
    for (std::size_t i = 0; i < n; ++i) {
      auto& value = results[start + i];
      if (value) value = detail::open_or_drop(*impl_->options.sealer, partition, context, kSealKind, digests[i], *value);
    }
  }
  return results;
}

Status ResponseCache::store_in(Partition& partition, const TenantContext& context, const ResponseKey& key,
                               std::string_view response) {
  if (key.model_id.empty()) return Error(ErrorCode::InvalidArgument, "ResponseCache: model id must not be empty");
  const detail::Digest digest = digest_of(partition.key, key);
  {
    std::lock_guard lock(partition.mutex);
    if (partition.opted_out) return {};
  }
  std::string value = impl_->options.sealer == nullptr
                          ? std::string(response)
                          : impl_->options.sealer->seal(context, kSealKind, detail::to_hex(digest), response);
  const std::size_t bytes = value.size() + key.model_id.size() + key.prompt_version.size();
  std::lock_guard lock(partition.mutex);
  if (partition.opted_out) return {};
  if (bytes > partition.lru.quota().max_bytes) {
    return Error(ErrorCode::InvalidArgument, "ResponseCache: a response of " + std::to_string(bytes) +
                                                 " bytes exceeds the tenant's whole cache quota of " +
                                                 std::to_string(partition.lru.quota().max_bytes) + " bytes");
  }
  partition.lru.insert(digest,
                       ResponsePayload{std::move(value), std::string(key.model_id), std::string(key.prompt_version)},
                       bytes, detail::expiry_after(impl_->options.clock(), impl_->options.ttl));
  return {};
}

std::size_t ResponseCache::invalidate_in(Partition* partition, std::string_view what, bool by_model) {
  if (partition == nullptr) return 0;
  std::lock_guard lock(partition->mutex);
  return partition->lru.erase_if([&](const ResponsePayload& p) {
    return by_model ? p.model_id == what : p.prompt_version == what;
  });
}

std::size_t ResponseCache::flush_in(Partition* partition) {
  if (partition == nullptr) return 0;
  std::lock_guard lock(partition->mutex);
  return partition->lru.clear();
}

void ResponseCache::set_opt_out_in(Partition& partition, bool opted_out) {
  std::lock_guard lock(partition.mutex);
  partition.opted_out = opted_out;
  if (opted_out) partition.lru.clear();
}

bool ResponseCache::opted_out_in(const Partition* partition) {
  if (partition == nullptr) return false;
  std::lock_guard lock(partition->mutex);
  return partition->opted_out;
}

CacheStats ResponseCache::stats_in(const Partition* partition) {
  if (partition == nullptr) return {};
  std::lock_guard lock(partition->mutex);
  return partition->lru.stats();
}

// The interface: each call reaches the context tenant's partition through that tenant's scope.
std::optional<std::string> ResponseCache::do_lookup(const TenantContext& context, const ResponseKey& key) {
  return with_tenant(context, [&](auto scope) { return lookup_in(*partitions_.get_or_create(scope), context, key); });
}

std::vector<std::optional<std::string>> ResponseCache::do_lookup_many(const TenantContext& context,
                                                                      std::span<const ResponseKey> keys) {
  return with_tenant(context,
                     [&](auto scope) { return lookup_many_in(*partitions_.get_or_create(scope), context, keys); });
}

Status ResponseCache::do_store(const TenantContext& context, const ResponseKey& key, std::string_view response) {
  return with_tenant(context,
                     [&](auto scope) { return store_in(*partitions_.get_or_create(scope), context, key, response); });
}

std::size_t ResponseCache::do_invalidate(const TenantContext& context, std::string_view what, bool by_model) {
  return with_tenant(context, [&](auto scope) { return invalidate_in(partitions_.find(scope).get(), what, by_model); });
}

std::size_t ResponseCache::do_flush(const TenantContext& context) {
  return with_tenant(context, [&](auto scope) { return flush_in(partitions_.find(scope).get()); });
}

void ResponseCache::do_set_opt_out(const TenantContext& context, bool opted_out) {
  with_tenant(context, [&](auto scope) { set_opt_out_in(*partitions_.get_or_create(scope), opted_out); });
}

bool ResponseCache::do_opted_out(const TenantContext& context) const {
  return with_tenant(context, [&](auto scope) { return opted_out_in(partitions_.find(scope).get()); });
}

CacheStats ResponseCache::do_stats(const TenantContext& context) const {
  return with_tenant(context, [&](auto scope) { return stats_in(partitions_.find(scope).get()); });
}

}  // namespace tenantai::cache
