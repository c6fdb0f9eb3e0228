// TenantPartitions<V>: the shared building block of every tenant-partitioned store. Each tenant
// gets its own V (its own locks, quotas, data); a partition is reachable only through that
// tenant's TenantScope, never by a bare string.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "tenantai/core/scope.h"
#include "tenantai/core/system_scope.h"

namespace tenantai {

// Thread-safe; lookups take a shared lock on one of kShards shards. Partitions are handed out
// as shared_ptr, so a partition erased while a request still uses it stays alive until that
// request ends (and is invisible to new lookups at once).
template <typename V>
class TenantPartitions {
 public:
  using Factory = std::function<std::shared_ptr<V>(const TenantId&)>;

  // `factory` builds a tenant's partition on first use (default: std::make_shared<V>()).
  explicit TenantPartitions(Factory factory = [](const TenantId&) { return std::make_shared<V>(); })
      : factory_(std::move(factory)) {}

  // The scope tenant's partition, created on first use. Factory exceptions propagate.
  template <typename Tag>
  std::shared_ptr<V> get_or_create(const TenantScope<Tag>& scope) {
    return get_or_create(scope.tenant());
  }

  // The scope tenant's partition, or nullptr if it has none.
  template <typename Tag>
  std::shared_ptr<V> find(const TenantScope<Tag>& scope) const {
    return find(scope.tenant());
  }

  // Removes the scope tenant's partition; returns it (nullptr if there was none).
  template <typename Tag>
  std::shared_ptr<V> erase(const TenantScope<Tag>& scope) {
    return erase(scope.tenant());
  }

  // Number of tenants with a partition.
  std::size_t size() const {
    std::size_t n = 0;
    for (const auto& shard : shards_) {
      std::shared_lock lock(shard.mutex);
      n += shard.map.size();
    }
    return n;
  }

  // Tenants with a partition. Enumerating tenants is cross-tenant knowledge, so it needs a
  // SystemScope (the caller then visits each tenant through it).
  std::vector<TenantId> tenants(const SystemScope& /*proof*/) const {
    std::vector<TenantId> out;
    for (const auto& shard : shards_) {
      std::shared_lock lock(shard.mutex);
      for (const auto& [id, v] : shard.map) out.push_back(id);
    }
    return out;
  }

 private:
  static constexpr std::size_t kShards = 16;
  struct Shard {
    mutable std::shared_mutex mutex;
    std::unordered_map<TenantId, std::shared_ptr<V>> map;
  };

  Shard& shard_of(const TenantId& id) { return shards_[std::hash<TenantId>{}(id) % kShards]; }
  const Shard& shard_of(const TenantId& id) const { return shards_[std::hash<TenantId>{}(id) % kShards]; }

  std::shared_ptr<V> find(const TenantId& id) const {
    const Shard& shard = shard_of(id);
    std::shared_lock lock(shard.mutex);
    auto it = shard.map.find(id);
    return it == shard.map.end() ? nullptr : it->second;
  }

  std::shared_ptr<V> get_or_create(const TenantId& id) {
    if (auto existing = find(id)) return existing;
    Shard& shard = shard_of(id);
    std::unique_lock lock(shard.mutex);
    auto it = shard.map.find(id);
    if (it != shard.map.end()) return it->second;
    auto created = factory_(id);
    shard.map.emplace(id, created);
    return created;
  }

  std::shared_ptr<V> erase(const TenantId& id) {
    Shard& shard = shard_of(id);
    std::unique_lock lock(shard.mutex);
    auto it = shard.map.find(id);
    if (it == shard.map.end()) return nullptr;
    auto removed = std::move(it->second);
    shard.map.erase(it);
    return removed;
  }

  Factory factory_;
  std::array<Shard, kShards> shards_;
};

}  // namespace tenantai
