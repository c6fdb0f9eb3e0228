#include "memory/handle_pool.h"

#include <vector>

namespace tenantai::memory::detail {

std::shared_ptr<TenantDatabase> HandlePool::acquire(const TenantId& tenant) {
  std::promise<std::shared_ptr<TenantDatabase>> promise;
  for (;;) {
    std::shared_future<std::shared_ptr<TenantDatabase>> in_progress;
    {
      std::lock_guard lock(mutex_);
      auto it = slots_.find(tenant);
      if (it != slots_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second.position);
        return it->second.db;
      }
      auto opening = opening_.find(tenant);
      if (opening == opening_.end()) {
        opening_.emplace(tenant, promise.get_future().share());
        break;  // this thread opens it
      }
      in_progress = opening->second;
    }
    in_progress.wait();  // another thread is opening this tenant's database
    if (auto db = in_progress.get()) return db;  // rethrows that open's error
  }
  std::shared_ptr<TenantDatabase> opened;
  try {
    opened = opener_(tenant);
  } catch (...) {
    std::lock_guard lock(mutex_);
    opening_.erase(tenant);
    promise.set_exception(std::current_exception());
    throw;
  }
  std::vector<std::shared_ptr<TenantDatabase>> evicted;  // closed after the lock is released
  std::lock_guard lock(mutex_);
  opening_.erase(tenant);
  while (slots_.size() >= capacity_ && !lru_.empty()) {
    auto victim = slots_.find(lru_.back());
    evicted.push_back(std::move(victim->second.db));
    slots_.erase(victim);
    lru_.pop_back();
  }
  lru_.push_front(tenant);
  slots_.emplace(tenant, Slot{opened, lru_.begin()});
  promise.set_value(opened);
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
