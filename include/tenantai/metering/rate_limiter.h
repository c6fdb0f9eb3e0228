// RateLimiter: per-tenant token buckets for requests/minute and tokens/minute by tier.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "tenantai/core/time_source.h"
#include "tenantai/core/error.h"
#include "tenantai/core/scope.h"
#include "tenantai/metering/counter_store.h"
#include "tenantai/metering/tiers.h"

namespace tenantai::metering {

// One limiter decision.
struct RateDecision {
  bool allowed = false;
  std::chrono::nanoseconds retry_after{0};  // when denied; nanoseconds::max() = never fits
  const char* limit = "";                   // when denied: "requests_per_minute" / "tokens_per_minute"
};

// Thread-safe; state lives in the CounterStore (per tenant), limits come from the tenant's
// tier. Both buckets are drawn together or not at all. The tiers and store must outlive it.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // `clock` drives bucket refills (steady time); the default is the system clock.
  RateLimiter(const TenantTiers& tiers, CounterStore& store, std::shared_ptr<const tenantai::TimeSource> clock = system_time_source());

  // Decides one request of `tokens` (estimated prompt + max output) for the scope's tenant now.
  // NotFound when the tenant has no tier (fail closed); InvalidArgument for negative tokens.
  template <typename Tag>
  Result<RateDecision> decide(const TenantScope<Tag>& scope, std::int64_t tokens) {
    return decide_impl(scope.context(), tokens, clock_->steady());
  }
  // As above at an explicit time (tests, simulations).
  template <typename Tag>
  Result<RateDecision> decide(const TenantScope<Tag>& scope, std::int64_t tokens, Clock::time_point now) {
    return decide_impl(scope.context(), tokens, now);
  }

  // Throws RateLimited (message with retry-after) when denied; otherwise returns.
  template <typename Tag>
  void admit(const TenantScope<Tag>& scope, std::int64_t tokens) {
    auto d = decide(scope, tokens);
    if (!d->allowed) throw_denied(scope.context(), *d);
  }

 private:
  Result<RateDecision> decide_impl(const TenantContext& context, std::int64_t tokens, Clock::time_point now);
  [[noreturn]] static void throw_denied(const TenantContext& context, const RateDecision& d);

  const TenantTiers& tiers_;
  CounterStore& store_;
  std::shared_ptr<const tenantai::TimeSource> clock_;
};

}  // namespace tenantai::metering
