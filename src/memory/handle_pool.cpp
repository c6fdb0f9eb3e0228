#include "memory/handle_pool.h"

#include <vector>

namespace tenantai::memory::detail {

std::shared_ptr<TenantDatabase> HandlePool::acquire(const TenantId& tenant) {
  {
    std::lock_guard lock(mutex_);
    auto it = slots_.find(tenant);
    if (it != slots_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.position);
      return it->second.db;
    }
  }
  auto opened = opener_(tenant);
  std::vector<std::shared_ptr<TenantDatabase>> evicted;  // closed after the lock is released
  std::lock_guard lock(mutex_);
  auto it = slots_.find(tenant);
  if (it != slots_.end()) {  // another thread opened it meanwhile: use theirs
    lru_.splice(lru_.begin(), lru_, it->second.position);
    evicted.push_back(std::move(opened));
    return it->second.db;
  }
  while (slots_.size() >= capacity_ && !lru_.empty()) {
    auto victim = slots_.find(lru_.back());
    evicted.push_back(std::move(victim->second.db));
    slots_.erase(victim);
    lru_.pop_back();
  }
  lru_.push_front(tenant);
  slots_.emplace(tenant, Slot{opened, lru_.begin()});
  return opened;
}

std::shared_ptr<TenantDatabase> HandlePool::remove(const TenantId& tenant) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(tenant);
  if (it == slots_.end()) return nullptr;
  auto db = std::move(it->second.db);
  lru_.erase(it->second.position);
  slots_.erase(it);
  return db;
}

std::size_t HandlePool::size() const {
  std::lock_guard lock(mutex_);
  return slots_.size();
}

}  // namespace tenantai::memory::detail
