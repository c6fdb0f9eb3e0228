// Internal: validation shared by the caches.
#pragma once

#include <string_view>

#include "tenantai/cache/cache_stats.h"
#include "tenantai/core/error.h"
#include "tenantai/core/tenant_id.h"

namespace tenantai::cache::detail {

// The quota the operator's policy gives `tenant`; InvalidArgument when it allows nothing.
inline CacheQuota checked_quota(const CacheQuota& quota, const TenantId& tenant) {
  if (quota.max_entries == 0 || quota.max_bytes == 0) {
    throw Error(ErrorCode::InvalidArgument,
                "cache quota of tenant \"" + tenant.str() + "\" must allow at least one entry and one byte");
  }
  return quota;
}

inline void require_model_id(std::string_view model_id, std::string_view cache) {
  if (model_id.empty()) throw Error(ErrorCode::InvalidArgument, std::string(cache) + ": model id must not be empty");
}

}  // namespace tenantai::cache::detail
