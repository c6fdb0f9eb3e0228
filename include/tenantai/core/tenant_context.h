// TenantContext: who is calling, for which tenant, bound once at authentication.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
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

namespace detail {
// The life of one SystemScope visit, shared by every copy of the context minted for it: the
// visit closes it on exit, and each use of a copy checks it (a privileged context dies with
// the visit that minted it). Internal.
struct VisitToken {
  std::uint64_t authority = 0;  // AccessRecorder::authority_id() of the recorder of the visit
  std::string operator_id;      // who opened the SystemScope
  std::atomic<bool> open{true};
};
}  // namespace detail

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
  // For a SystemScope visit's context: the operator who opened the scope, and the authority id
  // of the AccessRecorder that recorded the visit ("" and 0 for a tenant's own request).
  const std::string& system_operator() const noexcept;
  std::uint64_t system_authority() const noexcept { return visit_ ? visit_->authority : 0; }

  // Throws PermissionDenied when this is the context of a SystemScope visit that has ended (a
  // copy kept past the visit), or of a visit whose recorder is not the one that serves the
  // tenant in this process (see AccessRecorder::claim). Every with_tenant() calls it, and so
  // does every API that takes a context directly. Thread-safe.
  void check_usable() const {
    if (system_) check_visit();
  }

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
  TenantContext(Principal principal, std::string request_id, Clock::time_point deadline,
                std::shared_ptr<detail::VisitToken> visit);
  void check_visit() const;

  TenantId tenant_;
  std::string actor_;
  std::vector<std::string> groups_;
  std::vector<std::string> capabilities_;
  std::string request_id_;
  Clock::time_point deadline_;
  bool system_ = false;
  std::shared_ptr<detail::VisitToken> visit_;  // set for SystemScope visits only
};

}  // namespace tenantai
