#include "tenantai/cache/semantic_cache.h"

#include <atomic>
#include <cmath>
#include <mutex>
#include <vector>

#include "cache/lru_partition.h"
#include "cache/quota_check.h"
#include "tenantai/retrieval/distance.h"

namespace tenantai::cache {

namespace {
constexpr std::string_view kSealKind = "cache.semantic";

struct Row {
  std::uint64_t id = 0;  // unique per cache: the sealer's object id
  std::string model_id;
  std::string prompt_version;
  std::string value;  // sealed when the cache has a sealer
  std::size_t bytes = 0;
  detail::Clock::time_point expires;
  std::uint64_t last_used = 0;
};

std::string object_id(std::uint64_t id) { return "semantic-" + std::to_string(id); }
}  // namespace

struct SemanticCache::Impl {
  SemanticCacheOptions options;
  std::atomic<std::uint64_t> next_id{1};
};

struct SemanticCache::Partition {
  Partition(CacheQuota q, float t) : quota(q), threshold(t) {}
  mutable std::mutex mutex;
  CacheQuota quota;
  float threshold;
  bool opted_out = false;
  CacheStats stats;
  std::uint64_t tick = 0;
  std::vector<float> embeddings;  // rows.size() × dimension, contiguous: this tenant's only
  std::vector<Row> rows;
  std::vector<float> scores;  // scratch

  // Swap-remove row r (the embedding block moves with it).
  void remove(std::size_t r, std::size_t dim) {
    const std::size_t last = rows.size() - 1;
    stats.bytes -= rows[r].bytes;
    if (r != last) {
      rows[r] = std::move(rows[last]);
      std::copy_n(embeddings.begin() + static_cast<std::ptrdiff_t>(last * dim), dim,
                  embeddings.begin() + static_cast<std::ptrdiff_t>(r * dim));
    }
    rows.pop_back();
    embeddings.resize(rows.size() * dim);
    stats.entries = rows.size();
  }

  std::size_t clear() {
    const std::size_t n = rows.size();
    rows.clear();
    embeddings.clear();
    stats.entries = 0;
    stats.bytes = 0;
    stats.invalidations += n;
    return n;
  }
};

SemanticCache::SemanticCache(SemanticCacheOptions options)
    : impl_(std::make_unique<Impl>()),
      partitions_([impl = impl_.get()](const TenantId& tenant) {
        return std::make_shared<Partition>(detail::checked_quota(impl->options.quota_for(tenant), tenant),
                                           impl->options.default_threshold);
      }) {
  if (options.dimension == 0) throw Error(ErrorCode::InvalidArgument, "SemanticCache: dimension must be > 0");
  if (!(options.operator_floor > 0.0f && options.operator_floor <= 1.0f)) {
    throw Error(ErrorCode::InvalidArgument, "SemanticCache: operator floor must be in (0, 1], got " +
                                                std::to_string(options.operator_floor));
  }
  if (!(options.default_threshold >= options.operator_floor && options.default_threshold <= 1.0f)) {
    throw Error(ErrorCode::InvalidArgument, "SemanticCache: default threshold " +
                                                std::to_string(options.default_threshold) +
                                                " must be between the operator floor and 1");
  }
  impl_->options = std::move(options);
}

SemanticCache::~SemanticCache() = default;

float SemanticCache::operator_floor() const noexcept { return impl_->options.operator_floor; }
std::size_t SemanticCache::dimension() const noexcept { return impl_->options.dimension; }

namespace {
// The unit-length copy of `v`; InvalidArgument on a wrong size or a zero / non-finite vector.
std::vector<float> unit_vector(std::span<const float> v, std::size_t dim) {
  if (v.size() != dim) {
    throw Error(ErrorCode::InvalidArgument, "SemanticCache: embedding has " + std::to_string(v.size()) +
                                                " dimensions, the cache expects " + std::to_string(dim));
  }
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  if (!std::isfinite(norm) || norm == 0) {
    throw Error(ErrorCode::InvalidArgument, "SemanticCache: embedding is zero or not finite");
  }
  const float inv = static_cast<float>(1.0 / std::sqrt(norm));
  std::vector<float> out(v.begin(), v.end());
  for (float& x : out) x *= inv;
  return out;
}
}  // namespace

std::optional<SemanticHit> SemanticCache::lookup_in(Partition& partition, const TenantContext& context,
                                                    const SemanticKey& key, std::span<const float> query) {
  detail::require_model_id(key.model_id, "SemanticCache");
  const std::size_t dim = impl_->options.dimension;
  const std::vector<float> q = unit_vector(query, dim);
  const auto now = impl_->options.clock();
  SemanticHit hit;
  std::uint64_t hit_id = 0;
  {
    std::lock_guard lock(partition.mutex);
    const std::size_t n = partition.rows.size();
    if (partition.opted_out || n == 0) {
      ++partition.stats.misses;
      return std::nullopt;
    }
    partition.scores.resize(n);
    retrieval::inner_products(q.data(), partition.embeddings.data(), n, dim, partition.scores.data());
    std::size_t best = n;
    std::vector<std::size_t> expired;
    for (std::size_t r = 0; r < n; ++r) {
      const Row& row = partition.rows[r];
      if (row.expires <= now) {
        expired.push_back(r);
        continue;
      }
      const float s = partition.scores[r];
      if (s < partition.threshold || (best < n && s <= partition.scores[best])) continue;
      if (row.model_id != key.model_id || row.prompt_version != key.prompt_version) continue;
      best = r;
    }
    if (best < n) {
      Row& row = partition.rows[best];
      row.last_used = ++partition.tick;
      hit.value = row.value;
      hit.similarity = std::min(partition.scores[best], 1.0f);
      hit_id = row.id;
      ++partition.stats.hits;
    } else {
      ++partition.stats.misses;
    }
    for (auto it = expired.rbegin(); it != expired.rend(); ++it) partition.remove(*it, dim);
    partition.stats.expirations += expired.size();
    if (best == n) return std::nullopt;
  }
  if (impl_->options.sealer != nullptr) {
    auto opened = impl_->options.sealer->open(context, kSealKind, object_id(hit_id), hit.value);
    if (!opened.ok()) throw opened.error();
    hit.value = std::move(opened).value();
  }
  return hit;
}

Status SemanticCache::store_in(Partition& partition, const TenantContext& context, const SemanticKey& key,
                               std::span<const float> query, std::string_view value) {
  if (key.model_id.empty()) return Error(ErrorCode::InvalidArgument, "SemanticCache: model id must not be empty");
  const std::size_t dim = impl_->options.dimension;
  std::vector<float> q;
  try {
    q = unit_vector(query, dim);
  } catch (const Error& e) {
    return e;
  }
  {
    std::lock_guard lock(partition.mutex);
    if (partition.opted_out) return {};
  }
  Row row;
  row.id = impl_->next_id.fetch_add(1);
  row.model_id = key.model_id;
  row.prompt_version = key.prompt_version;
  row.value = impl_->options.sealer == nullptr
                  ? std::string(value)
                  : impl_->options.sealer->seal(context, kSealKind, object_id(row.id), value);
  row.bytes = dim * sizeof(float) + row.value.size() + row.model_id.size() + row.prompt_version.size();
  row.expires = detail::expiry_after(impl_->options.clock(), impl_->options.ttl);

  std::lock_guard lock(partition.mutex);
  if (partition.opted_out) return {};
  if (row.bytes > partition.quota.max_bytes) {
    return Error(ErrorCode::InvalidArgument, "SemanticCache: an entry of " + std::to_string(row.bytes) +
                                                 " bytes exceeds the tenant's whole cache quota of " +
                                                 std::to_string(partition.quota.max_bytes) + " bytes");
  }
  while (!partition.rows.empty() && (partition.rows.size() + 1 > partition.quota.max_entries ||
                                     partition.stats.bytes + row.bytes > partition.quota.max_bytes)) {
    std::size_t lru = 0;
    for (std::size_t r = 1; r < partition.rows.size(); ++r) {
      if (partition.rows[r].last_used < partition.rows[lru].last_used) lru = r;
    }
    partition.remove(lru, dim);
    ++partition.stats.evictions;
  }
  row.last_used = ++partition.tick;
  partition.stats.bytes += row.bytes;
  partition.rows.push_back(std::move(row));
  partition.embeddings.insert(partition.embeddings.end(), q.begin(), q.end());
  partition.stats.entries = partition.rows.size();
  ++partition.stats.insertions;
  return {};
}

Status SemanticCache::set_threshold_in(Partition& partition, float threshold) const {
  if (!(threshold >= impl_->options.operator_floor && threshold <= 1.0f)) {
    return Error(ErrorCode::InvalidArgument, "SemanticCache: threshold " + std::to_string(threshold) +
                                                 " is outside [operator floor " +
                                                 std::to_string(impl_->options.operator_floor) + ", 1]");
  }
  std::lock_guard lock(partition.mutex);
  partition.threshold = threshold;
  return {};
}

float SemanticCache::threshold_in(const Partition* partition) const {
  if (partition == nullptr) return impl_->options.default_threshold;
  std::lock_guard lock(partition->mutex);
  return partition->threshold;
}

std::size_t SemanticCache::flush_in(Partition* partition) {
  if (partition == nullptr) return 0;
  std::lock_guard lock(partition->mutex);
  return partition->clear();
}

void SemanticCache::set_opt_out_in(Partition& partition, bool opted_out) {
  std::lock_guard lock(partition.mutex);
  partition.opted_out = opted_out;
  if (opted_out) partition.clear();
}

CacheStats SemanticCache::stats_in(const Partition* partition) {
  if (partition == nullptr) return {};
  std::lock_guard lock(partition->mutex);
  return partition->stats;
}

}  // namespace tenantai::cache
