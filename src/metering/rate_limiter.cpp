#include "tenantai/metering/rate_limiter.h"

#include <array>
#include <string>

namespace tenantai::metering {

RateLimiter::RateLimiter(const TenantTiers& tiers, CounterStore& store, std::shared_ptr<const tenantai::TimeSource> clock)
    : tiers_(tiers), store_(store), clock_(clock ? std::move(clock) : system_time_source()) {}

Result<RateDecision> RateLimiter::decide_impl(const TenantContext& context, std::int64_t tokens,
                                              Clock::time_point now) {
  if (tokens < 0) return Error(ErrorCode::InvalidArgument, "token estimate must not be negative");
  auto tier = tiers_.tier_of(context);
  if (!tier) return tier.error();
  const TierPolicy& t = **tier;
  const std::array<BucketTake, 2> takes{
      BucketTake{"rpm", t.request_burst, t.requests_per_minute, 1},
      BucketTake{"tpm", t.token_burst, t.tokens_per_minute, tokens},
  };
  const BucketDecision d = store_.take(context, takes, now);
  RateDecision out{d.allowed, d.retry_after, ""};
  if (!d.allowed) out.limit = d.denied_by == 0 ? "requests_per_minute" : "tokens_per_minute";
  return out;
}

void RateLimiter::throw_denied(const TenantContext& context, const RateDecision& d) {
  const bool never = d.retry_after == std::chrono::nanoseconds::max();
  const auto wait = never ? std::chrono::milliseconds(0) : std::chrono::ceil<std::chrono::milliseconds>(d.retry_after);
  const std::string retry = never ? std::string("never (request exceeds the burst size)")
                                  : std::to_string(wait.count()) + " ms";
  throw Error(ErrorCode::RateLimited,
              "tenant \"" + context.tenant().str() + "\" exceeded " + d.limit + "; retry after " + retry, wait);
}

}  // namespace tenantai::metering
