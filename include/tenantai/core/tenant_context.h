// TenantContext: who is calling, for which tenant, bound once at authentication.
#pragma once

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/core/tenant_id.h"

namespace tenantai {

class Authenticator;
class SystemScope;

// What an authenticated credential stands for. Plain data, filled by Authenticator
// implementations; turning it into a TenantContext is the Authenticator's job alone.
struct Principal {
  TenantId tenant;
  std::string actor;                      // user or service id inside the tenant, non-empty
  std::vector<std::string> groups;        // ACL groups (documents are visible to these)
  std::vector<std::string> capabilities;  // e.g. "tool:search", "admin:export"
};

// The tenant binding of one request. Immutable once built; safe to share between threads.
// There is no public constructor: only an Authenticator (or a SystemScope, for its audited
// cross-tenant visits) can produce one, so no code path can invent a tenant.
class TenantContext {
 public:
  using Clock = std::chrono::steady_clock;

  const TenantId& tenant() const noexcept { return tenant_; }
  const std::string& actor() const noexcept { return actor_; }
  const std::vector<std::string>& groups() const noexcept { return groups_; }  // sorted, unique
  const std::vector<std::string>& capabilities() const noexcept { return capabilities_; }  // sorted
  const std::string& request_id() const noexcept { return request_id_; }
  Clock::time_point deadline() const noexcept { return deadline_; }
  bool is_system() const noexcept { return system_; }

  bool in_group(std::string_view group) const noexcept {
    return std::binary_search(groups_.begin(), groups_.end(), group, std::less<>{});
  }
  bool has_capability(std::string_view capability) const noexcept {
    return std::binary_search(capabilities_.begin(), capabilities_.end(), capability, std::less<>{});
  }
  bool expired(Clock::time_point now = Clock::now()) const noexcept { return now >= deadline_; }

 private:
  friend class Authenticator;
  friend class SystemScope;
  TenantContext(Principal principal, std::string request_id, Clock::time_point deadline, bool system);

  TenantId tenant_;
  std::string actor_;
  std::vector<std::string> groups_;
  std::vector<std::string> capabilities_;
  std::string request_id_;
  Clock::time_point deadline_;
  bool system_ = false;
};

}  // namespace tenantai
