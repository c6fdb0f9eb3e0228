#include "tenantai/cache/embedding_cache.h"

#include <cstring>
#include <mutex>

#include "cache/keyed_digest.h"
#include "cache/lru_partition.h"
#include "cache/quota_check.h"
#include "cache/sealed_entry.h"

namespace tenantai::cache {

namespace {
constexpr std::string_view kSealKind = "cache.embedding";

struct EmbeddingPayload {
  std::vector<float> vector;  // empty when sealed
  std::string sealed;         // the vector's bytes sealed with the tenant's key, when sealing
};
}  // namespace

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
  detail::LruPartition<EmbeddingPayload> lru;
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

std::optional<std::vector<float>> EmbeddingCache::lookup_in(Partition& partition, const TenantContext& context,
                                                            std::string_view model_id, std::string_view text) {
  detail::require_model_id(model_id, "EmbeddingCache");
  const detail::Digest digest = digest_of(partition.secret, model_id, text);
  std::string sealed;
  {
    std::lock_guard lock(partition.mutex);
    const auto* entry = partition.lru.find(digest, impl_->options.clock());
    if (entry == nullptr) return std::nullopt;
    if (impl_->options.sealer == nullptr) return entry->payload.vector;
    sealed = entry->payload.sealed;
  }
  std::string plain = detail::open_or_drop(*impl_->options.sealer, partition, context, kSealKind, digest, sealed);
  if (plain.empty() || plain.size() % sizeof(float) != 0) {
    detail::drop_and_throw(partition, digest,
                           Error(ErrorCode::Tampered, "EmbeddingCache: an opened embedding is not a whole number of floats"));
  }
  std::vector<float> vector(plain.size() / sizeof(float));
  std::memcpy(vector.data(), plain.data(), plain.size());
  sodium_memzero(plain.data(), plain.size());
  return vector;
}

Status EmbeddingCache::store_in(Partition& partition, const TenantContext& context, std::string_view model_id,
                                std::string_view text, std::span<const float> embedding) {
  if (model_id.empty()) return Error(ErrorCode::InvalidArgument, "EmbeddingCache: model id must not be empty");
  if (embedding.empty()) return Error(ErrorCode::InvalidArgument, "EmbeddingCache: embedding must not be empty");
  const detail::Digest digest = digest_of(partition.secret, model_id, text);
  EmbeddingPayload payload;
  if (impl_->options.sealer == nullptr) {
    payload.vector.assign(embedding.begin(), embedding.end());
  } else {
    const std::string_view bytes(reinterpret_cast<const char*>(embedding.data()), embedding.size_bytes());
    payload.sealed = impl_->options.sealer->seal(context, kSealKind, detail::to_hex(digest), bytes);
  }
  const std::size_t bytes =
      (payload.sealed.empty() ? embedding.size_bytes() : payload.sealed.size()) + model_id.size();
  std::lock_guard lock(partition.mutex);
  if (bytes > partition.lru.quota().max_bytes) {
    return Error(ErrorCode::InvalidArgument, "EmbeddingCache: an embedding of " + std::to_string(bytes) +
                                                 " bytes exceeds the tenant's whole cache quota of " +
                                                 std::to_string(partition.lru.quota().max_bytes) + " bytes");
  }
  partition.lru.insert(digest, std::move(payload), bytes,
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
