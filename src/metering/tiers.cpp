#include "tenantai/metering/tiers.h"

#include <mutex>

namespace tenantai::metering {
namespace {
std::atomic<std::uint64_t> g_next_instance{1};

struct TierCache {
  std::uint64_t instance = 0;
  std::uint64_t generation = 0;
  std::string tenant;
  std::shared_ptr<const TierPolicy> policy;
};
thread_local TierCache t_tier_cache;
}  // namespace

TenantTiers::TenantTiers() : instance_id_(g_next_instance.fetch_add(1)) {}

void TenantTiers::define(TierPolicy policy) {
  constexpr std::int64_t kMaxBurst = 100'000'000;
  if (policy.name.empty()) throw Error(ErrorCode::InvalidArgument, "tier name must not be empty");
  const std::string where = "tier \"" + escape_for_message(policy.name) + "\": ";
  if (!(policy.weight > 0.0)) throw Error(ErrorCode::InvalidArgument, where + "weight must be > 0");
  if (policy.requests_per_minute < 0 || policy.tokens_per_minute < 0 || policy.request_burst < 0 ||
      policy.token_burst < 0) {
    throw Error(ErrorCode::InvalidArgument, where + "limits must not be negative");
  }
  if (policy.request_burst == 0) policy.request_burst = policy.requests_per_minute;
  if (policy.token_burst == 0) policy.token_burst = policy.tokens_per_minute;
  if (policy.request_burst > kMaxBurst || policy.token_burst > kMaxBurst) {
    throw Error(ErrorCode::InvalidArgument, where + "bursts are limited to 100'000'000");
  }
  if (policy.max_queued == 0) throw Error(ErrorCode::InvalidArgument, where + "max_queued must be > 0");
  auto shared = std::make_shared<const TierPolicy>(std::move(policy));
  {
    std::unique_lock lock(mutex_);
    tiers_[shared->name] = shared;
  }
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

Result<std::shared_ptr<const TierPolicy>> TenantTiers::find_tier(std::string_view name) const {
  std::shared_lock lock(mutex_);
  auto it = tiers_.find(name);
  if (it == tiers_.end()) {
    return Error(ErrorCode::NotFound, "no tier named \"" + escape_for_message(name) + "\"");
  }
  return it->second;
}

Result<std::shared_ptr<const TierPolicy>> TenantTiers::tier_of(const TenantContext& context) const {
  const std::uint64_t generation = generation_.load(std::memory_order_acquire);
  TierCache& cache = t_tier_cache;
  if (cache.instance == instance_id_ && cache.generation == generation && cache.tenant == context.tenant().view()) {
    return cache.policy;
  }
  auto slot = with_tenant(context, [&](auto scope) { return assignments_.find(scope); });
  std::shared_ptr<const TierPolicy> policy;
  if (slot) {
    std::shared_lock lock(slot->mutex);
    policy = slot->policy;
  }
  if (!policy) {
    return Error(ErrorCode::NotFound,
                 "tenant \"" + context.tenant().str() + "\" has no tier assigned; refusing (fail closed)");
  }
  cache.instance = instance_id_;
  cache.generation = generation;
  cache.tenant = context.tenant().str();
  cache.policy = policy;
  return policy;
}

}  // namespace tenantai::metering
