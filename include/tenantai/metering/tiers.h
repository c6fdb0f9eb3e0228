// Service tiers (weights, rate limits, queue limits) and each tenant's assignment to one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "tenantai/core/error.h"
#include "tenantai/core/scope.h"
#include "tenantai/core/tenant_partitions.h"

namespace tenantai::metering {

// What a tier grants. Limits are per tenant.
struct TierPolicy {
  std::string name;                      // non-empty
  double weight = 1.0;                   // FairScheduler share (> 0)
  std::int64_t requests_per_minute = 600;
  std::int64_t tokens_per_minute = 1'000'000;
  std::int64_t request_burst = 0;        // bucket capacity; 0 = requests_per_minute
  std::int64_t token_burst = 0;          // bucket capacity; 0 = tokens_per_minute
  std::size_t max_queued = 256;          // FairScheduler per-tenant queue limit (> 0)
};

// Tier definitions plus tenant → tier assignments. Thread-safe. A tenant without an assignment
// has no tier: lookups fail with NotFound (fail closed, there is no default tier).
class TenantTiers {
 public:
  TenantTiers();
  TenantTiers(const TenantTiers&) = delete;
  TenantTiers& operator=(const TenantTiers&) = delete;

  // Adds or replaces a tier. InvalidArgument for an empty name, non-positive weight, negative
  // limits, zero max_queued or bursts beyond 100'000'000.
  void define(TierPolicy policy);

  // Assigns the scope's tenant to a defined tier (NotFound if the tier is unknown). Re-assigning
  // takes effect for later lookups.
  template <typename Tag>
  Status assign(const TenantScope<Tag>& scope, std::string_view tier) {
    auto policy = find_tier(tier);
    if (!policy) return policy.error();
    assignments_.get_or_create(scope)->set(std::move(*policy));
    generation_.fetch_add(1, std::memory_order_acq_rel);
    return {};
  }

  // Removes the scope tenant's assignment (its lookups fail with NotFound again); false when it
  // had none. Used to roll back a failed onboarding.
  template <typename Tag>
  bool unassign(const TenantScope<Tag>& scope) {
    const bool had = assignments_.erase(scope) != nullptr;
    generation_.fetch_add(1, std::memory_order_acq_rel);
    return had;
  }

  // The tenant's tier, or NotFound. The returned policy is immutable and safe to keep.
  // Hot path: each thread caches its last (tenant, policy) pair, keyed by the full tenant id,
  // this object's instance id and a generation counter bumped by every define/assign, so a
  // cached answer is never another tenant's and never older than the last change.
  Result<std::shared_ptr<const TierPolicy>> tier_of(const TenantContext& context) const;

  // A defined tier by name, or NotFound.
  Result<std::shared_ptr<const TierPolicy>> find_tier(std::string_view name) const;

 private:
  struct Slot {
    mutable std::shared_mutex mutex;
    std::shared_ptr<const TierPolicy> policy;
    void set(std::shared_ptr<const TierPolicy> p) {
      std::unique_lock lock(mutex);
      policy = std::move(p);
    }
  };
  const std::uint64_t instance_id_;
  std::atomic<std::uint64_t> generation_{1};
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<const TierPolicy>, std::less<>> tiers_;
  mutable TenantPartitions<Slot> assignments_;
};

}  // namespace tenantai::metering
