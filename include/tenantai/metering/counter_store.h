// CounterStore: where rate-limit buckets and budget ledgers live. Small and abstract so a later
// backend (Redis) can share them across replicas; InMemoryCounterStore ships now.
//
// Every operation names its tenant through a TenantContext and touches only that tenant's
// partition. Account and bucket keys are names *inside* the tenant (e.g. "t:d:20414"), never a
// tenant prefix.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/core/error.h"
#include "tenantai/core/tenant_context.h"
#include "tenantai/core/tenant_partitions.h"
#include "tenantai/metering/price_table.h"

namespace tenantai::metering {

// One spend account a reservation must fit under (e.g. tenant-day, actor-month).
struct LedgerAccount {
  std::string key;  // account name inside the tenant
  Micros cap = 0;   // spent + reserved never exceeds this
};

// Balance of one account.
struct LedgerBalance {
  Micros spent = 0;
  Micros reserved = 0;
};

// A reservation request: hold between `min` and `want` (as much as fits) on every account.
struct HoldRequest {
  std::string hold_id;  // unique per call inside the tenant (the request id)
  std::vector<LedgerAccount> accounts;
  Micros want = 0;
  Micros min = 0;
  std::chrono::steady_clock::time_point expires_at;  // released automatically after this
};

// How one account changed on settle (for soft-alert thresholds).
struct AccountChange {
  std::string key;
  Micros cap = 0;
  Micros spent_before = 0;
  Micros spent_after = 0;
};

// Result of settling a hold.
struct SettleOutcome {
  Micros charged = 0;   // added to spent (≤ the hold)
  Micros released = 0;  // hold minus charge, returned to the accounts
  Micros overage = 0;   // actual cost beyond the hold: not charged (the cap holds), reported
  bool replay = false;  // true when this hold id was already settled (nothing changed)
  std::vector<AccountChange> changes;
};

// One token bucket to draw from.
struct BucketTake {
  std::string_view key;           // bucket name inside the tenant, e.g. "rpm"
  std::int64_t capacity = 0;      // max tokens (≤ 100'000'000)
  std::int64_t per_minute = 0;    // refill rate
  std::int64_t amount = 0;        // tokens this decision needs
};

// Outcome of a bucket decision.
struct BucketDecision {
  bool allowed = false;
  std::chrono::nanoseconds retry_after{0};  // when denied: wait at least this long
  std::size_t denied_by = 0;                // when denied: index of the first bucket that refused
};

// Storage interface. Implementations must be thread-safe and make each call atomic per tenant
// (a reservation either fits under every account or changes nothing).
class CounterStore {
 public:
  virtual ~CounterStore() = default;

  // Holds the largest amount in [min, want] that fits under every account's cap; returns it.
  // BudgetExceeded when not even `min` fits; AlreadyExists when `hold_id` is held or settled;
  // InvalidArgument for min > want or negative amounts. Expired holds are released first.
  virtual Result<Micros> reserve(const TenantContext& context, const HoldRequest& request) = 0;

  // Turns a hold into spend: charges min(actual, hold), releases the rest. Idempotent by
  // hold id: a repeated settle returns the first outcome with replay = true. NotFound when the
  // hold does not exist (never reserved, released or expired).
  virtual Result<SettleOutcome> settle(const TenantContext& context, std::string_view hold_id,
                                       Micros actual) = 0;

  // Releases a hold without charging. Releasing an unknown or already settled hold is a no-op
  // that returns false.
  virtual bool release(const TenantContext& context, std::string_view hold_id) = 0;

  // Balance of one account of the tenant (zero if it has never been used).
  virtual LedgerBalance balance(const TenantContext& context, std::string_view key) const = 0;

  // Draws every bucket's amount or none (all-or-nothing) at time `now`. InvalidArgument-free:
  // bad specs are rejected by the caller.
  virtual BucketDecision take(const TenantContext& context, std::span<const BucketTake> takes,
                              std::chrono::steady_clock::time_point now) = 0;
};

// In-process CounterStore: one partition per tenant (TenantPartitions), each with its own
// mutex. Thread-safe. Each thread caches its last partition (keyed by store instance and full
// tenant id), so a hot tenant's decisions skip the partition lookup. Remembers the last
// `settled_memory` settled hold ids per tenant for idempotent replays; a settle retried after
// its id was forgotten gets NotFound (never a second charge).
class InMemoryCounterStore final : public CounterStore {
 public:
  explicit InMemoryCounterStore(std::size_t settled_memory = 10'000);
  ~InMemoryCounterStore() override;

  Result<Micros> reserve(const TenantContext& context, const HoldRequest& request) override;
  Result<SettleOutcome> settle(const TenantContext& context, std::string_view hold_id, Micros actual) override;
  bool release(const TenantContext& context, std::string_view hold_id) override;
  LedgerBalance balance(const TenantContext& context, std::string_view key) const override;
  BucketDecision take(const TenantContext& context, std::span<const BucketTake> takes,
                      std::chrono::steady_clock::time_point now) override;

 private:
  struct Partition;
  // The tenant's partition (created on first use). Valid until this thread asks for another
  // tenant's partition; partitions are never erased while the store lives.
  Partition& partition(const TenantContext& context) const;
  const std::uint64_t id_;  // process-unique, keys the per-thread partition cache
  std::size_t settled_memory_;
  mutable TenantPartitions<Partition> partitions_;
};

}  // namespace tenantai::metering
