// Noisy-neighbour detection: each tenant's short-term rate (fast EWMA) against its own long-term
// baseline (slow EWMA); a callback fires when the fast rate exceeds factor × baseline.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "tenantai/core/error.h"
#include "tenantai/core/scope.h"
#include "tenantai/core/tenant_partitions.h"

namespace tenantai::metering {

// One alert: `tenant` is running at `rate` units/s against a baseline of `baseline` units/s.
struct NoisyNeighbourAlert {
  TenantId tenant;
  double rate = 0;
  double baseline = 0;
};

struct NoisyNeighbourOptions {
  std::chrono::duration<double> fast_window{std::chrono::seconds(10)};       // fast EWMA time constant
  std::chrono::duration<double> baseline_window{std::chrono::minutes(10)};  // slow EWMA time constant
  double factor = 3.0;     // alert when rate > factor × max(baseline, min_rate)
  double min_rate = 1.0;   // units/s below which nothing is noisy (keeps idle tenants quiet)
  std::chrono::duration<double> warmup{std::chrono::seconds(60)};  // no alerts before a baseline exists
  // Called once per episode (outside locks, on the recording thread); re-armed when the rate
  // falls back under the threshold. Must not throw.
  std::function<void(const NoisyNeighbourAlert&)> on_alert;
};

// A tenant's current rates.
struct RateEstimate {
  double rate = 0;      // fast EWMA, units/s
  double baseline = 0;  // slow EWMA, units/s
  bool alerting = false;
};

// Thread-safe; one partition (with its own mutex) per tenant. Rates are time-decayed sums
// S ← S·e^(−Δt/τ) + amount, rate = S/(τ·(1 − e^(−age/τ))), so irregular arrivals need no fixed ticks.
class NoisyNeighbourDetector {
 public:
  using Clock = std::chrono::steady_clock;

  // InvalidArgument for non-positive windows or factor ≤ 1.
  explicit NoisyNeighbourDetector(NoisyNeighbourOptions options);

  // Adds `amount` (requests, tokens, ...; negatives ignored) for the scope's tenant at `now`.
  template <typename Tag>
  void record(const TenantScope<Tag>& scope, double amount, Clock::time_point now = Clock::now()) {
    record_impl(*partitions_.get_or_create(scope), scope.tenant(), amount, now);
  }

  // The scope tenant's rates at `now` (zero if it never recorded).
  template <typename Tag>
  Scoped<RateEstimate, Tag> estimate(const TenantScope<Tag>& scope, Clock::time_point now = Clock::now()) const {
    auto p = partitions_.find(scope);
    return scope.bind(p ? estimate_impl(*p, now) : RateEstimate{});
  }

 private:
  struct State {
    std::mutex mutex;
    bool started = false;
    Clock::time_point first;
    Clock::time_point last;
    double fast_sum = 0;
    double slow_sum = 0;
    bool alerting = false;
  };
  void record_impl(State& s, const TenantId& tenant, double amount, Clock::time_point now);
  RateEstimate estimate_impl(State& s, Clock::time_point now) const;
  void decay_locked(State& s, Clock::time_point now) const;
  static double rate_of(double sum, double tau, const State& s, Clock::time_point now);

  NoisyNeighbourOptions options_;
  mutable TenantPartitions<State> partitions_;
};

}  // namespace tenantai::metering
