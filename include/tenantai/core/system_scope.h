// SystemScope: the only cross-tenant path (retention sweeps, operator support, migrations).
// It needs a stated, non-empty reason known at compile time; every tenant it touches is
// recorded before the visit runs, and the number of visits per scope is limited.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/core/scope.h"
#include "tenantai/core/tenant_context.h"

namespace tenantai {

namespace detail {
// Not constexpr on purpose: reaching it in a constant expression is the compile error
// "call to non-'constexpr' function ... system_scope_reason_must_not_be_empty".
void system_scope_reason_must_not_be_empty();
}  // namespace detail

// Why a SystemScope exists, as a string literal (so it is reviewable in the source).
// An empty or all-blank literal is a compile error.
class Reason {
 public:
  template <std::size_t N>
  consteval Reason(const char (&text)[N]) : text_(text, N - 1) {  // NOLINT: implicit by design
    bool blank = true;
    for (std::size_t i = 0; i + 1 < N; ++i) {
      if (text[i] != ' ' && text[i] != '\t') blank = false;
    }
    if (blank) detail::system_scope_reason_must_not_be_empty();
  }
  constexpr std::string_view text() const noexcept { return text_; }

 private:
  std::string_view text_;
};

// One recorded cross-tenant access.
struct AccessRecord {
  TenantId tenant;                                  // the tenant that was touched
  std::string operator_id;                          // who opened the SystemScope
  std::string reason;                               // its stated reason
  std::string ticket;                               // optional change/support ticket
  std::string request_id;                           // the context id used for the visit
  std::chrono::system_clock::time_point at;
  // From SystemScopeOptions::coalesce_within: zero, or how long identical visits may be
  // coalesced into one record by a recorder that coalesces (AuditAccessRecorder does).
  std::chrono::milliseconds coalesce_within{0};
};

// Where SystemScope visits are recorded. Implementations must be thread-safe and durable
// enough for their purpose; if record() throws, the visit does not happen (fail closed).
// The audit module provides one that appends to each tenant's own audit log.
//
// A recorder that can be swapped out is no audit: a platform claims the tenants it serves for
// its own recorder, and a visit recorded anywhere else is refused (PermissionDenied) when it
// reaches a claimed tenant. Tenants nobody claimed (layers used on their own) accept any
// recorder. Not copyable; destruction releases the recorder's claims.
class AccessRecorder {
 public:
  AccessRecorder();
  virtual ~AccessRecorder();
  AccessRecorder(const AccessRecorder&) = delete;
  AccessRecorder& operator=(const AccessRecorder&) = delete;

  virtual void record(const AccessRecord& record) = 0;

  // Unique in the process; SystemScope visits carry it in their contexts.
  std::uint64_t authority_id() const noexcept { return authority_id_; }
  // Makes this recorder the only one whose SystemScopes may visit `tenant` in this process.
  // Throws AlreadyExists while another live recorder holds it; claiming twice is a no-op.
  // Thread-safe.
  void claim(const TenantId& tenant);
  // Gives the claim up (no-op if this recorder does not hold it). Thread-safe, never throws.
  void release(const TenantId& tenant) noexcept;

 private:
  const std::uint64_t authority_id_;
};

// In-memory recorder for tests and single-process tools. Thread-safe.
class InMemoryAccessRecorder final : public AccessRecorder {
 public:
  void record(const AccessRecord& record) override;
  std::vector<AccessRecord> records() const;                          // all, in order
  std::vector<AccessRecord> records_for(const TenantId& tenant) const;  // one tenant's, in order
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::vector<AccessRecord> records_;
};

struct SystemScopeOptions {
  std::size_t max_visits = 1024;  // visits allowed through one SystemScope; more → RateLimited
  std::string ticket;             // optional ticket id recorded with every visit
  std::chrono::milliseconds visit_timeout{std::chrono::minutes(5)};
  // For routine, repeated visits (a metrics scrape): identical visits (same tenant, operator,
  // reason and ticket) within this period may be recorded as one record per period carrying
  // their count; the first of each period is still recorded before it runs. Zero (the default):
  // every visit is recorded on its own. A recorder that does not coalesce records every visit.
  std::chrono::milliseconds coalesce_within{0};
};

// A privileged, audited handle for work that must touch several tenants. Not copyable.
// visit() is thread-safe. The recorder must outlive the SystemScope.
class SystemScope {
 public:
  // `operator_id` names the person or job (non-empty, else InvalidArgument).
  SystemScope(AccessRecorder& recorder, std::string operator_id, Reason reason,
              SystemScopeOptions options = {});
  SystemScope() = delete;
  SystemScope(const SystemScope&) = delete;
  SystemScope& operator=(const SystemScope&) = delete;

  std::string_view reason() const noexcept { return reason_.text(); }
  const std::string& operator_id() const noexcept { return operator_id_; }
  std::size_t visits() const;

  // Records the access into `tenant`, then runs f(TenantScope<Brand>) for it with a system
  // context (actor "system:<operator>", capability "system"). The context dies with the visit:
  // a copy kept after f returns is refused (PermissionDenied) wherever it is used. Throws
  // RateLimited past max_visits, PermissionDenied when the tenant is served by a platform whose
  // recorder is not this scope's; whatever record() throws propagates and f is not run.
  template <typename F>
  decltype(auto) visit(const TenantId& tenant, F&& f) {
    struct Brand {};
    const TenantContext context = begin_visit(tenant);
    const VisitCloser closer{context};
    return detail::invoke_in_scope<Brand>(context, nullptr, std::forward<F>(f));
  }

 private:
  // Ends the visit of `context` on every exit of visit().
  struct VisitCloser {
    const TenantContext& context;
    ~VisitCloser();
  };
  TenantContext begin_visit(const TenantId& tenant);
  static void end_visit(const TenantContext& context) noexcept;

  AccessRecorder& recorder_;
  std::string operator_id_;
  Reason reason_;
  SystemScopeOptions options_;
  mutable std::mutex mutex_;
  std::size_t visits_ = 0;
};

}  // namespace tenantai
