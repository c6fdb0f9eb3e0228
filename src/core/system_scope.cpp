#include "tenantai/core/system_scope.h"

#include <atomic>

#include "core/authority_claims.h"
#include "tenantai/core/authenticator.h"

namespace tenantai {

namespace detail {
void system_scope_reason_must_not_be_empty() {}
}  // namespace detail

namespace {
std::uint64_t next_authority_id() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

AccessRecorder::AccessRecorder() : authority_id_(next_authority_id()) {}
AccessRecorder::~AccessRecorder() { detail::release_all_tenants(authority_id_); }
void AccessRecorder::claim(const TenantId& tenant) { detail::claim_tenant(authority_id_, tenant); }
void AccessRecorder::release(const TenantId& tenant) noexcept { detail::release_tenant(authority_id_, tenant); }

void InMemoryAccessRecorder::record(const AccessRecord& record) {
  std::lock_guard lock(mutex_);
  records_.push_back(record);
}

std::vector<AccessRecord> InMemoryAccessRecorder::records() const {
  std::lock_guard lock(mutex_);
  return records_;
}

std::vector<AccessRecord> InMemoryAccessRecorder::records_for(const TenantId& tenant) const {
  std::lock_guard lock(mutex_);
  std::vector<AccessRecord> out;
  for (const auto& r : records_) {
    if (r.tenant == tenant) out.push_back(r);
  }
  return out;
}

std::size_t InMemoryAccessRecorder::size() const {
  std::lock_guard lock(mutex_);
  return records_.size();
}

SystemScope::SystemScope(AccessRecorder& recorder, std::string operator_id, Reason reason,
                         SystemScopeOptions options)
    : recorder_(recorder),
      operator_id_(std::move(operator_id)),
      reason_(reason),
      options_(std::move(options)) {
  if (operator_id_.empty()) {
    throw Error(ErrorCode::InvalidArgument, "SystemScope needs a non-empty operator id");
  }
}

std::size_t SystemScope::visits() const {
  std::lock_guard lock(mutex_);
  return visits_;
}

TenantContext SystemScope::begin_visit(const TenantId& tenant) {
  {
    std::lock_guard lock(mutex_);
    if (visits_ >= options_.max_visits) {
      throw Error(ErrorCode::RateLimited,
                  "SystemScope \"" + std::string(reason_.text()) + "\" reached its limit of " +
                      std::to_string(options_.max_visits) + " tenant visits");
    }
    ++visits_;
  }
  if (!detail::authority_may_visit(recorder_.authority_id(), tenant)) {
    throw Error(ErrorCode::PermissionDenied,
                "tenant \"" + tenant.str() + "\" is served by a platform in this process: open the SystemScope on that "
                "platform's access recorder (Platform::system_scope), not on another recorder");
  }
  auto token = std::make_shared<detail::VisitToken>();
  token->authority = recorder_.authority_id();
  token->operator_id = operator_id_;
  Principal principal{tenant, "system:" + operator_id_, {}, {"system"}};
  TenantContext context(std::move(principal), new_request_id(),
                        TenantContext::Clock::now() + options_.visit_timeout, std::move(token));
  recorder_.record(AccessRecord{tenant, operator_id_, std::string(reason_.text()), options_.ticket,
                                context.request_id(), std::chrono::system_clock::now(), options_.coalesce_within});
  return context;
}

SystemScope::VisitCloser::~VisitCloser() { end_visit(context); }

void SystemScope::end_visit(const TenantContext& context) noexcept {
  if (context.visit_) context.visit_->open.store(false, std::memory_order_release);
}

}  // namespace tenantai
