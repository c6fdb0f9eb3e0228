// Internal: one tenant's LRU + TTL entry set, bounded by the tenant's quota, on
// Boost.MultiIndex (sequenced = LRU order, hashed_unique = lookup by key digest).
#pragma once

#include <boost/multi_index/hashed_index.hpp>
#include <boost/multi_index/member.hpp>
#include <boost/multi_index/sequenced_index.hpp>
#include <boost/multi_index_container.hpp>

#include <chrono>
#include <cstddef>
#include <utility>

#include "cache/keyed_digest.h"
#include "tenantai/cache/cache_stats.h"

namespace tenantai::cache::detail {

using Clock = std::chrono::steady_clock;

// Expiry time for an entry stored at `now` with `ttl` (zero = never).
inline Clock::time_point expiry_after(Clock::time_point now, std::chrono::milliseconds ttl) {
  return ttl.count() == 0 ? Clock::time_point::max() : now + ttl;
}

// Not thread-safe: the owning partition's mutex guards every call.
template <typename Payload>
class LruPartition {
 public:
  struct Entry {
    Digest key;
    Payload payload;
    std::size_t bytes = 0;
    Clock::time_point expires;
  };

  explicit LruPartition(CacheQuota quota) : quota_(quota) {}

  const CacheQuota& quota() const noexcept { return quota_; }
  CacheStats& stats() noexcept { return stats_; }
  const CacheStats& stats() const noexcept { return stats_; }

  // The live entry for `key` (moved to the front), or nullptr. Counts a hit or a miss; an
  // expired entry is dropped and counted as an expiration and a miss.
  const Entry* find(const Digest& key, Clock::time_point now) {
    auto& by_key = entries_.template get<1>();
    auto it = by_key.find(key);
    if (it == by_key.end()) {
      ++stats_.misses;
      return nullptr;
    }
    if (it->expires <= now) {
      remove(entries_.template project<0>(it));
      ++stats_.expirations;
      ++stats_.misses;
      return nullptr;
    }
    auto seq = entries_.template project<0>(it);
    entries_.relocate(entries_.begin(), seq);
    ++stats_.hits;
    return &*seq;
  }

  // Inserts or replaces the entry, then evicts from the LRU tail until the quota holds.
  // The caller has checked bytes <= quota.max_bytes.
  void insert(const Digest& key, Payload payload, std::size_t bytes, Clock::time_point expires) {
    auto& by_key = entries_.template get<1>();
    auto it = by_key.find(key);
    if (it != by_key.end()) remove(entries_.template project<0>(it));
    entries_.push_front(Entry{key, std::move(payload), bytes, expires});
    stats_.bytes += bytes;
    stats_.entries = entries_.size();
    ++stats_.insertions;
    while (entries_.size() > quota_.max_entries || stats_.bytes > quota_.max_bytes) {
      remove(std::prev(entries_.end()));
      ++stats_.evictions;
    }
  }

  // Drops `key` if present (no counter but entries/bytes).
  void erase(const Digest& key) {
    auto& by_key = entries_.template get<1>();
    auto it = by_key.find(key);
    if (it != by_key.end()) remove(entries_.template project<0>(it));
  }

  // Drops every entry whose payload matches; counts them as invalidations.
  template <typename Pred>
  std::size_t erase_if(Pred pred) {
    std::size_t n = 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (pred(it->payload)) {
        it = remove(it);
        ++n;
      } else {
        ++it;
      }
    }
    stats_.invalidations += n;
    return n;
  }

  std::size_t clear() {
    const std::size_t n = entries_.size();
    entries_.clear();
    stats_.entries = 0;
    stats_.bytes = 0;
    stats_.invalidations += n;
    return n;
  }

 private:
  using Container = boost::multi_index_container<
      Entry, boost::multi_index::indexed_by<
                 boost::multi_index::sequenced<>,
                 boost::multi_index::hashed_unique<boost::multi_index::member<Entry, Digest, &Entry::key>, DigestHash>>>;
  using SeqIt = typename Container::template nth_index<0>::type::iterator;

  SeqIt remove(SeqIt it) {
    stats_.bytes -= it->bytes;
    auto next = entries_.erase(it);
    stats_.entries = entries_.size();
    return next;
  }

  CacheQuota quota_;
  CacheStats stats_;
  Container entries_;
};

}  // namespace tenantai::cache::detail
