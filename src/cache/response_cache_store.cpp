#include "tenantai/cache/response_cache_store.h"

namespace tenantai::cache {

std::vector<std::optional<std::string>> ResponseCacheStore::do_lookup_many(const TenantContext& context,
                                                                           std::span<const ResponseKey> keys) {
  std::vector<std::optional<std::string>> results;
  results.reserve(keys.size());
  for (const ResponseKey& key : keys) results.push_back(do_lookup(context, key));
  return results;
}

}  // namespace tenantai::cache
