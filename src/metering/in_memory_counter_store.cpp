#include <atomic>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <unordered_map>

#include "tenantai/core/scope.h"
#include "tenantai/metering/counter_store.h"

namespace tenantai::metering {
namespace {

__extension__ typedef __int128 Wide;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

constexpr std::int64_t kNanosPerMinute = 60'000'000'000;
constexpr std::int64_t kMaxBucket = 100'000'000;
constexpr std::int64_t kMaxRate = 100'000'000'000;  // keeps level + elapsed * rate in range

// Token bucket in exact integer units: level counts token·(ns per minute), so refilling
// `per_minute` tokens per minute adds elapsed_ns * per_minute units with no rounding.
struct Bucket {
  std::int64_t level = -1;  // -1: not yet initialised (starts full)
  std::int64_t last_ns = 0;
};

std::atomic<std::uint64_t> g_next_store{1};

// Per-thread cache of the last partition used: keyed by the store's instance id and the full
// tenant id, so a hit is always the same tenant's partition of the same store.
struct PartitionCache {
  std::uint64_t store = 0;
  std::string tenant;
  std::shared_ptr<void> partition;
};
thread_local PartitionCache t_partition_cache;

}  // namespace

struct InMemoryCounterStore::Partition {
  struct Hold {
    Micros amount = 0;
    std::vector<std::string> accounts;
    std::vector<Micros> caps;
    std::chrono::steady_clock::time_point expires_at;
  };
  std::mutex mutex;
  StringMap<LedgerBalance> accounts;
  StringMap<Hold> holds;
  std::multimap<std::chrono::steady_clock::time_point, std::string> expiry;
  StringMap<SettleOutcome> settled;
  std::deque<std::string> settled_order;
  // A tenant has a handful of buckets ("rpm", "tpm", ...): a short vector scanned by name is
  // faster than hashing the name on every decision.
  std::deque<std::pair<std::string, Bucket>> buckets;  // deque: references stay valid on growth

  Bucket& bucket(std::string_view key) {
    for (auto& [name, b] : buckets) {
      if (name == key) return b;
    }
    return buckets.emplace_back(std::string(key), Bucket{}).second;
  }

  void release_locked(StringMap<Hold>::iterator it) {
    for (const auto& key : it->second.accounts) accounts[key].reserved -= it->second.amount;
    holds.erase(it);
  }

  void release_expired_locked(std::chrono::steady_clock::time_point now) {
    while (!expiry.empty() && expiry.begin()->first <= now) {
      auto hit = holds.find(expiry.begin()->second);
      if (hit != holds.end() && hit->second.expires_at == expiry.begin()->first) release_locked(hit);
      expiry.erase(expiry.begin());
    }
  }
};

InMemoryCounterStore::InMemoryCounterStore(std::size_t settled_memory)
    : id_(g_next_store.fetch_add(1)), settled_memory_(settled_memory == 0 ? 1 : settled_memory) {}

InMemoryCounterStore::~InMemoryCounterStore() = default;

InMemoryCounterStore::Partition& InMemoryCounterStore::partition(const TenantContext& context) const {
  PartitionCache& cache = t_partition_cache;
  if (cache.store != id_ || cache.tenant != context.tenant().view()) {
    cache.partition = with_tenant(context, [&](auto scope) { return partitions_.get_or_create(scope); });
    cache.store = id_;
    cache.tenant = context.tenant().str();
  }
  return *static_cast<Partition*>(cache.partition.get());
}

Result<Micros> InMemoryCounterStore::reserve(const TenantContext& context, const HoldRequest& request) {
  if (request.hold_id.empty()) return Error(ErrorCode::InvalidArgument, "hold id must not be empty");
  if (request.min < 0 || request.want < request.min) {
    return Error(ErrorCode::InvalidArgument, "reservation needs 0 <= min <= want");
  }
  Partition* p = &partition(context);
  std::lock_guard lock(p->mutex);
  p->release_expired_locked(std::chrono::steady_clock::now());
  if (p->holds.count(request.hold_id) != 0 || p->settled.count(request.hold_id) != 0) {
    return Error(ErrorCode::AlreadyExists, "request \"" + request.hold_id + "\" already has a reservation");
  }
  Micros grant = request.want;
  for (const auto& account : request.accounts) {
    const auto it = p->accounts.find(account.key);
    const LedgerBalance b = it == p->accounts.end() ? LedgerBalance{} : it->second;
    const Micros room = account.cap - b.spent - b.reserved;
    if (room < grant) grant = room;
  }
  if (grant < request.min) {
    return Error(ErrorCode::BudgetExceeded, "tenant \"" + context.tenant().str() + "\": budget left (" +
                                                std::to_string(grant < 0 ? 0 : grant) +
                                                " micros) is below the minimum reservation (" +
                                                std::to_string(request.min) + " micros)");
  }
  Partition::Hold hold{grant, {}, {}, request.expires_at};
  hold.accounts.reserve(request.accounts.size());
  for (const auto& account : request.accounts) {
    p->accounts[account.key].reserved += grant;
    hold.accounts.push_back(account.key);
    hold.caps.push_back(account.cap);
  }
  p->holds.emplace(request.hold_id, std::move(hold));
  p->expiry.emplace(request.expires_at, request.hold_id);
  return grant;
}

Result<SettleOutcome> InMemoryCounterStore::settle(const TenantContext& context, std::string_view hold_id,
                                                   Micros actual) {
  if (actual < 0) return Error(ErrorCode::InvalidArgument, "actual cost must not be negative");
  Partition* p = &partition(context);
  std::lock_guard lock(p->mutex);
  if (auto done = p->settled.find(hold_id); done != p->settled.end()) {
    SettleOutcome replay = done->second;
    replay.replay = true;
    return replay;
  }
  p->release_expired_locked(std::chrono::steady_clock::now());
  auto it = p->holds.find(hold_id);
  if (it == p->holds.end()) {
    return Error(ErrorCode::NotFound, "no reservation for request \"" + std::string(hold_id) +
                                          "\" (never reserved, released or expired)");
  }
  SettleOutcome out;
  const Micros hold = it->second.amount;
  out.charged = actual < hold ? actual : hold;
  out.released = hold - out.charged;
  out.overage = actual - out.charged;
  for (std::size_t i = 0; i < it->second.accounts.size(); ++i) {
    const std::string& key = it->second.accounts[i];
    LedgerBalance& b = p->accounts[key];
    AccountChange change{key, it->second.caps[i], b.spent, 0};
    b.reserved -= hold;
    b.spent += out.charged;
    change.spent_after = b.spent;
    out.changes.push_back(std::move(change));
  }
  p->holds.erase(it);
  SettleOutcome remembered = out;  // replays need the amounts only
  remembered.changes.clear();
  p->settled.emplace(std::string(hold_id), std::move(remembered));
  p->settled_order.emplace_back(hold_id);
  while (p->settled_order.size() > settled_memory_) {
    p->settled.erase(p->settled_order.front());
    p->settled_order.pop_front();
  }
  return out;
}

bool InMemoryCounterStore::release(const TenantContext& context, std::string_view hold_id) {
  Partition* p = &partition(context);
  std::lock_guard lock(p->mutex);
  auto it = p->holds.find(hold_id);
  if (it == p->holds.end()) return false;
  p->release_locked(it);
  return true;
}

LedgerBalance InMemoryCounterStore::balance(const TenantContext& context, std::string_view key) const {
  auto p = with_tenant(context, [&](auto scope) { return partitions_.find(scope); });
  if (!p) return {};
  std::lock_guard lock(p->mutex);
  auto it = p->accounts.find(key);
  return it == p->accounts.end() ? LedgerBalance{} : it->second;
}

BucketDecision InMemoryCounterStore::take(const TenantContext& context, std::span<const BucketTake> takes,
                                          std::chrono::steady_clock::time_point now) {
  const std::int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  Partition* p = &partition(context);
  std::lock_guard lock(p->mutex);
  // Pass 1: refill and check every bucket; pass 2 (only if all allow): draw.
  constexpr std::size_t kInline = 4;
  Bucket* found[kInline];
  std::vector<Bucket*> found_heap;
  Bucket** buckets = found;
  if (takes.size() > kInline) {
    found_heap.resize(takes.size());
    buckets = found_heap.data();
  }
  BucketDecision decision{true, std::chrono::nanoseconds(0), 0};
  for (std::size_t i = 0; i < takes.size(); ++i) {
    const BucketTake& t = takes[i];
    const std::int64_t capacity = t.capacity > kMaxBucket ? kMaxBucket : (t.capacity < 0 ? 0 : t.capacity);
    const std::int64_t full = capacity * kNanosPerMinute;
    const std::int64_t rate = t.per_minute > kMaxRate ? kMaxRate : t.per_minute;
    Bucket& b = p->bucket(t.key);
    if (b.level < 0) {
      b.level = full;
      b.last_ns = now_ns;
    } else if (now_ns > b.last_ns) {
      const std::int64_t elapsed = now_ns - b.last_ns;
      if (rate > 0) {
        const std::int64_t room = full - b.level;
        // 128-bit product: no overflow for any elapsed time, and no division on the hot path.
        if (room <= 0 || static_cast<Wide>(elapsed) * rate >= room) {
          b.level = full;
        } else {
          b.level += elapsed * rate;
        }
      }
      b.last_ns = now_ns;
    }
    if (b.level > full) b.level = full;  // capacity lowered since last use
    buckets[i] = &b;
    const std::int64_t amount = t.amount < 0 ? 0 : t.amount;
    const std::int64_t need = amount > kMaxBucket ? std::numeric_limits<std::int64_t>::max()
                                                  : amount * kNanosPerMinute;
    if (b.level < need && decision.allowed) {
      decision.allowed = false;
      decision.denied_by = i;
      if (amount > capacity || rate <= 0) {
        decision.retry_after = std::chrono::nanoseconds::max();  // can never fit
      } else {
        decision.retry_after = std::chrono::nanoseconds((need - b.level + rate - 1) / rate);
      }
    }
  }
  if (decision.allowed) {
    for (std::size_t i = 0; i < takes.size(); ++i) {
      const std::int64_t amount = takes[i].amount < 0 ? 0 : takes[i].amount;
      buckets[i]->level -= amount * kNanosPerMinute;
    }
  }
  return decision;
}

}  // namespace tenantai::metering
