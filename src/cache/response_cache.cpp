#include "tenantai/cache/response_cache.h"

#include <mutex>

#include "cache/keyed_digest.h"
#include "cache/lru_partition.h"
#include "cache/quota_check.h"

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
  Partition(const detail::MasterSecret& master, const TenantId& tenant, CacheQuota quota) : lru(quota) {
    master.derive(tenant, secret);
  }
  detail::TenantSecret secret;  // immutable: read without the lock
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

namespace {
detail::Digest digest_of(const detail::TenantSecret& secret, const ResponseKey& key) {
  detail::KeyedDigest d(secret);
  d.add_framed(key.model_id);
  d.add_framed(key.prompt_version);
  d.add_framed(key.params);
  d.add_normalised_tail(key.input);
  return d.finish();
}
}  // namespace

std::optional<std::string> ResponseCache::lookup_in(Partition& partition, const TenantContext& context,
                                                    const ResponseKey& key) {
  detail::require_model_id(key.model_id, "ResponseCache");
  const detail::Digest digest = digest_of(partition.secret, key);
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
  auto opened = impl_->options.sealer->open(context, kSealKind, detail::to_hex(digest), value);
  if (!opened.ok()) {
    std::lock_guard lock(partition.mutex);
    partition.lru.erase(digest);
    throw opened.error();
  }
  return std::move(opened).value();
}

Status ResponseCache::store_in(Partition& partition, const TenantContext& context, const ResponseKey& key,
                               std::string_view response) {
  if (key.model_id.empty()) return Error(ErrorCode::InvalidArgument, "ResponseCache: model id must not be empty");
  const detail::Digest digest = digest_of(partition.secret, key);
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

}  // namespace tenantai::cache
