// Internal: a bounded LRU pool of open tenant databases. At most `capacity` handles stay in the
// pool; the least recently used one is dropped from it (and closed once no running call holds
// it) when another tenant needs a slot.
#pragma once

#include <cstddef>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "memory/tenant_database.h"

namespace tenantai::memory::detail {

class HandlePool {
 public:
  using Opener = std::function<std::shared_ptr<TenantDatabase>(const TenantId&)>;

  HandlePool(std::size_t capacity, Opener opener) : capacity_(capacity), opener_(std::move(opener)) {}

  // The tenant's handle, opening it (outside the pool lock) when not pooled. Concurrent callers
  // for the same tenant wait for one open (each tenant database allows a single connection:
  // locking_mode=EXCLUSIVE). Opener errors propagate to every waiter and nothing is pooled.
  // Thread-safe.
  std::shared_ptr<TenantDatabase> acquire(const TenantId& tenant);

  // Removes the tenant's handle from the pool (nullptr if not pooled). Thread-safe.
  std::shared_ptr<TenantDatabase> remove(const TenantId& tenant);

  std::size_t size() const;

 private:
  struct Slot {
    std::shared_ptr<TenantDatabase> db;
    std::list<TenantId>::iterator position;
  };

  std::size_t capacity_;
  Opener opener_;
  mutable std::mutex mutex_;
  std::list<TenantId> lru_;  // front = most recently used
  std::unordered_map<TenantId, Slot> slots_;
  std::unordered_map<TenantId, std::shared_future<std::shared_ptr<TenantDatabase>>> opening_;
};

}  // namespace tenantai::memory::detail
