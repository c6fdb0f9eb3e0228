// CacheStats and CacheQuota: per-tenant counters and capacity limits shared by the caches.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tenantai::cache {

// One tenant's cache counters, a snapshot (plain data). Counters only grow until flush(),
// which drops the entries but keeps the counters.
struct CacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;         // includes lookups that found an expired entry
  std::uint64_t insertions = 0;
  std::uint64_t evictions = 0;      // entries dropped to stay within this tenant's quota
  std::uint64_t expirations = 0;    // entries dropped because their TTL passed
  std::uint64_t invalidations = 0;  // entries dropped by invalidate_*() or flush()
  std::size_t entries = 0;          // current number of entries
  std::size_t bytes = 0;            // current accounted size (see each cache for what counts)
};

// Capacity of one tenant's partition. A tenant filling its quota evicts only its own
// least-recently-used entries; other tenants' partitions are never touched.
struct CacheQuota {
  std::size_t max_entries = 10'000;       // >= 1
  std::size_t max_bytes = 64 * 1024 * 1024;  // >= 1
};

}  // namespace tenantai::cache
