#include "tenantai/cache/embedding_cache.h"

#include <mutex>

#include "cache/keyed_digest.h"
#include "cache/lru_partition.h"
#include "cache/quota_check.h"

namespace tenantai::cache {

struct EmbeddingCache::Impl {
  explicit Impl(EmbeddingCacheOptions o) : options(std::move(o)) {}
  EmbeddingCacheOptions options;
  detail::MasterSecret master;
};

struct EmbeddingCache::Partition {
  Partition(const detail::MasterSecret& master, const TenantId& tenant, CacheQuota quota) : lru(quota) {
    master.derive(tenant, secret);
  }
  detail::TenantSecret secret;  // immutable: read without the lock
  mutable std::mutex mutex;
  detail::LruPartition<std::vector<float>> lru;
};

EmbeddingCache::EmbeddingCache(EmbeddingCacheOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))),
      partitions_([impl = impl_.get()](const TenantId& tenant) {
        return std::make_shared<Partition>(impl->master, tenant,
                                           detail::checked_quota(impl->options.quota_for(tenant), tenant));
      }) {}

EmbeddingCache::~EmbeddingCache() = default;

namespace {
detail::Digest digest_of(const detail::TenantSecret& secret, std::string_view model_id, std::string_view text) {
  detail::KeyedDigest d(secret);
  d.add_framed(model_id);
  d.add_framed(text);  // exact text: embeddings are sensitive to every byte
  return d.finish();
}
}  // namespace

std::optional<std::vector<float>> EmbeddingCache::lookup_in(Partition& partition, std::string_view model_id,
                                                            std::string_view text) {
  detail::require_model_id(model_id, "EmbeddingCache");
  const detail::Digest digest = digest_of(partition.secret, model_id, text);
  std::lock_guard lock(partition.mutex);
  const auto* entry = partition.lru.find(digest, impl_->options.clock());
  if (entry == nullptr) return std::nullopt;
  return entry->payload;
}

Status EmbeddingCache::store_in(Partition& partition, std::string_view model_id, std::string_view text,
                                std::span<const float> embedding) {
  if (model_id.empty()) return Error(ErrorCode::InvalidArgument, "EmbeddingCache: model id must not be empty");
  if (embedding.empty()) return Error(ErrorCode::InvalidArgument, "EmbeddingCache: embedding must not be empty");
  const detail::Digest digest = digest_of(partition.secret, model_id, text);
  const std::size_t bytes = embedding.size() * sizeof(float) + model_id.size();
  std::lock_guard lock(partition.mutex);
  if (bytes > partition.lru.quota().max_bytes) {
    return Error(ErrorCode::InvalidArgument, "EmbeddingCache: an embedding of " + std::to_string(bytes) +
                                                 " bytes exceeds the tenant's whole cache quota of " +
                                                 std::to_string(partition.lru.quota().max_bytes) + " bytes");
  }
  partition.lru.insert(digest, std::vector<float>(embedding.begin(), embedding.end()), bytes,
                       detail::expiry_after(impl_->options.clock(), impl_->options.ttl));
  return {};
}

std::size_t EmbeddingCache::flush_in(Partition* partition) {
  if (partition == nullptr) return 0;
  std::lock_guard lock(partition->mutex);
  return partition->lru.clear();
}

CacheStats EmbeddingCache::stats_in(const Partition* partition) {
  if (partition == nullptr) return {};
  std::lock_guard lock(partition->mutex);
  return partition->lru.stats();
}

}  // namespace tenantai::cache
