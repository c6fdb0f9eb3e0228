// Internal: opening a cache entry's sealed value, shared by the caches that drop an entry
// whose value no longer opens (so a destroyed key or a tampered value is never served twice).
#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include "cache/keyed_digest.h"
#include "tenantai/core/error.h"
#include "tenantai/core/tenant_context.h"
#include "tenantai/crypto/sealer.h"

namespace tenantai::cache::detail {

// Removes `digest` from the partition (taking its `mutex`, which the caller must not hold) and
// throws `error`. `Partition` has `mutex` and `lru` (an LruPartition).
template <typename Partition>
[[noreturn]] void drop_and_throw(Partition& partition, const Digest& digest, const Error& error) {
  {
    std::lock_guard lock(partition.mutex);
    partition.lru.erase(digest);
  }
  throw error;
}

// The plaintext of an entry's sealed value (object id = the digest in hex). When it does not
// open (Tampered, CryptoFailure), the entry is dropped and the sealer's error thrown.
template <typename Partition>
std::string open_or_drop(crypto::Sealer& sealer, Partition& partition, const TenantContext& context,
                         std::string_view kind, const Digest& digest, std::string_view sealed) {
  auto opened = sealer.open(context, kind, to_hex(digest), sealed);
  if (!opened.ok()) drop_and_throw(partition, digest, opened.error());
  return std::move(opened).value();
}

}  // namespace tenantai::cache::detail
