// Budgets that cannot be overrun: reserve the worst case before a model call, settle the actual
// usage after it (idempotent by request id), release on failure or timeout.
//
//   auto r = budgets.reserve(scope, {.model = "gpt-x", .input_tokens = 900, .max_output_tokens = 4000});
//   if (!r) return r.error();                       // BudgetExceeded / NotFound (unknown model)
//   auto max_tokens = scope.view(*r).max_output_tokens;   // possibly clamped to what is affordable
//   ... call the model ...
//   budgets.settle(scope, *r, {.input_tokens = 900, .output_tokens = 1234});
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tenantai/core/error.h"
#include "tenantai/core/scope.h"
#include "tenantai/core/tenant_partitions.h"
#include "tenantai/metering/counter_store.h"
#include "tenantai/metering/price_table.h"

namespace tenantai::metering {

// Caps of one account holder for the current UTC day and month (nullopt = uncapped).
struct Caps {
  std::optional<Micros> daily;
  std::optional<Micros> monthly;
};

// A tenant's budget policy.
struct BudgetPolicy {
  Caps tenant;                               // whole tenant
  Caps per_actor;                            // every actor inside the tenant
  std::map<std::string, Caps> actor_overrides;  // replaces per_actor for these actors
  std::vector<int> alert_permille = {500, 800, 1000};  // soft alerts at 50 %, 80 %, 100 % of a cap
};

// What a call may cost at most.
struct CallEstimate {
  std::string model;                    // must be in the price table, else NotFound (fail closed)
  std::int64_t input_tokens = 0;
  std::int64_t max_output_tokens = 0;
  std::int64_t min_output_tokens = 1;   // below this the call is refused instead of clamped
  bool allow_clamp = true;              // false: reserve the full max_output_tokens or refuse
  std::string call_id;                  // distinguishes several calls of one request ("" = one)
};

// A held reservation (returned as Scoped<Reservation, Tag>).
struct Reservation {
  std::string hold_id;                  // request id [+ "/" + call id]
  std::string model;
  std::int64_t input_tokens = 0;
  std::int64_t max_output_tokens = 0;   // what the caller may ask the model for (maybe clamped)
  bool clamped = false;
  Micros held = 0;
};

// Actual usage of a finished call.
struct CallUsage {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
};

// Result of a settle.
struct SettleReceipt {
  Micros cost = 0;      // actual cost at the model's price
  Micros charged = 0;   // recorded against the caps (≤ held)
  Micros overage = 0;   // cost beyond the reservation (the model ignored max_tokens); not charged
  bool replay = false;  // the request was already settled; nothing changed
};

// A soft alert: an account crossed `permille` of its cap.
struct BudgetAlert {
  TenantId tenant;
  std::string account;  // e.g. "tenant/day", "actor:alice/month"
  int permille = 0;
  Micros cap = 0;
  Micros spent = 0;
};

struct BudgetOptions {
  // UTC wall clock for day/month periods; injectable for tests.
  std::function<std::chrono::system_clock::time_point()> clock = [] { return std::chrono::system_clock::now(); };
  // Called (outside locks, on the settling thread) once per threshold crossing. Must not throw.
  std::function<void(const BudgetAlert&)> on_alert;
  // Hold lifetime when the request's deadline is further away (or already past).
  std::chrono::milliseconds max_hold{std::chrono::minutes(10)};
};

template <typename Tag>
class BudgetHold;

// Thread-safe. The store and price table must outlive the manager. A tenant without a policy
// cannot reserve (NotFound, fail closed).
class BudgetManager {
 public:
  BudgetManager(CounterStore& store, const PriceTable& prices, BudgetOptions options = {});

  // Sets the scope tenant's policy (InvalidArgument for negative caps or thresholds outside
  // 1..1000). Takes effect for later reservations; existing holds are kept.
  template <typename Tag>
  Status set_policy(const TenantScope<Tag>& scope, BudgetPolicy policy) {
    return set_policy_impl(scope.context(), std::move(policy));
  }

  // Reserves the worst-case cost of a call for the scope's request (expires with its deadline).
  // Errors: NotFound (no policy, unknown model), InvalidArgument (negative tokens),
  // BudgetExceeded (not even min_output_tokens affordable), AlreadyExists (same request/call id).
  template <typename Tag>
  Result<Scoped<Reservation, Tag>> reserve(const TenantScope<Tag>& scope, const CallEstimate& estimate) {
    auto r = reserve_impl(scope.context(), estimate);
    if (!r) return r.error();
    return scope.bind(std::move(*r));
  }

  // reserve() wrapped in a BudgetHold that releases the reservation when it goes out of scope
  // unsettled (an exception, an early return): release on failure without a try/catch.
  template <typename Tag>
  Result<BudgetHold<Tag>> hold(const TenantScope<Tag>& scope, const CallEstimate& estimate) {
    auto r = reserve(scope, estimate);
    if (!r) return r.error();
    return BudgetHold<Tag>(*this, scope, std::move(*r));
  }

  // Charges the actual usage against the reservation. Idempotent by request id. Throws
  // IsolationViolation if `reservation` belongs to another tenant; returns NotFound if it was
  // released, expired or forgotten (see InMemoryCounterStore) before settling.
  template <typename Tag>
  Result<SettleReceipt> settle(const TenantScope<Tag>& scope, const Scoped<Reservation, Tag>& reservation,
                               const CallUsage& usage) {
    return settle_impl(scope.context(), scope.view(reservation), usage);
  }

  // Returns the reservation without charging (call failed or timed out). Returns false if it
  // was already settled, released or expired. Throws IsolationViolation for another tenant's
  // reservation.
  template <typename Tag>
  bool release(const TenantScope<Tag>& scope, const Scoped<Reservation, Tag>& reservation) {
    return store_.release(scope.context(), scope.view(reservation).hold_id);
  }

  // Spend and reservations of the scope tenant for the current day and month.
  struct Summary {
    LedgerBalance day;
    LedgerBalance month;
  };
  template <typename Tag>
  Scoped<Summary, Tag> tenant_summary(const TenantScope<Tag>& scope) const {
    return scope.bind(summary_impl(scope.context(), std::nullopt));
  }
  // As above for the scope's own actor.
  template <typename Tag>
  Scoped<Summary, Tag> actor_summary(const TenantScope<Tag>& scope) const {
    return scope.bind(summary_impl(scope.context(), scope.context().actor()));
  }

 private:
  Status set_policy_impl(const TenantContext& context, BudgetPolicy policy);
  Result<Reservation> reserve_impl(const TenantContext& context, const CallEstimate& estimate);
  Result<SettleReceipt> settle_impl(const TenantContext& context, const Reservation& reservation,
                                    const CallUsage& usage);
  Summary summary_impl(const TenantContext& context, std::optional<std::string> actor) const;
  std::vector<LedgerAccount> accounts_for(const BudgetPolicy& policy, const std::string& actor) const;

  struct PolicySlot {
    mutable std::shared_mutex mutex;
    std::shared_ptr<const BudgetPolicy> policy;
  };
  std::shared_ptr<const BudgetPolicy> policy_of(const TenantContext& context) const;

  CounterStore& store_;
  const PriceTable& prices_;
  BudgetOptions options_;
  mutable TenantPartitions<PolicySlot> policies_;
};

// A reservation that is released automatically unless settled. Lives only inside its
// with_tenant callback (it refers to the scope; returning it from the callback does not
// compile). Move-only; not thread-safe (one request's handle).
template <typename Tag>
class BudgetHold {
 public:
  BudgetHold(BudgetManager& budgets, const TenantScope<Tag>& scope, Scoped<Reservation, Tag> reservation)
      : budgets_(&budgets), scope_(&scope), reservation_(std::move(reservation)) {
    scope.check_owner(reservation_);
  }
  BudgetHold(BudgetHold&& other) noexcept
      : budgets_(other.budgets_), scope_(other.scope_), reservation_(std::move(other.reservation_)),
        done_(std::exchange(other.done_, true)) {}
  BudgetHold& operator=(BudgetHold&&) = delete;
  BudgetHold(const BudgetHold&) = delete;
  BudgetHold& operator=(const BudgetHold&) = delete;
  // Releases the reservation if it was neither settled nor released. Never throws.
  ~BudgetHold() {
    if (done_) return;
    try {
      budgets_->release(*scope_, reservation_);
    } catch (...) {
      // The hold still expires with the request's deadline.
    }
  }

  const Reservation& reservation() const { return scope_->view(reservation_); }
  std::int64_t max_output_tokens() const { return reservation().max_output_tokens; }

  // Settles (see BudgetManager::settle); after a successful settle nothing is released.
  Result<SettleReceipt> settle(const CallUsage& usage) {
    auto receipt = budgets_->settle(*scope_, reservation_, usage);
    if (receipt.ok()) done_ = true;
    return receipt;
  }
  // Releases now; false if there was nothing left to release.
  bool release() {
    done_ = true;
    return budgets_->release(*scope_, reservation_);
  }

 private:
  BudgetManager* budgets_;
  const TenantScope<Tag>* scope_;
  Scoped<Reservation, Tag> reservation_;
  bool done_ = false;
};

}  // namespace tenantai::metering

// A BudgetHold refers to its scope, so like a Scoped value it may not leave with_tenant.
template <typename Tag>
struct tenantai::holds_scoped<tenantai::metering::BudgetHold<Tag>> : std::true_type {};
