#include "tenantai/metering/noisy_neighbour.h"

#include <algorithm>
#include <cmath>

namespace tenantai::metering {

NoisyNeighbourDetector::NoisyNeighbourDetector(NoisyNeighbourOptions options) : options_(std::move(options)) {
  if (!(options_.fast_window.count() > 0) || !(options_.baseline_window.count() > 0)) {
    throw Error(ErrorCode::InvalidArgument, "EWMA windows must be positive");
  }
  if (!(options_.factor > 1.0)) throw Error(ErrorCode::InvalidArgument, "noisy-neighbour factor must be > 1");
  if (options_.min_rate < 0 || options_.warmup.count() < 0) {
    throw Error(ErrorCode::InvalidArgument, "min_rate and warmup must not be negative");
  }
}

// S/τ with a start-up correction: a tenant observed for only `age` seconds has had time to
// fill 1 − e^(−age/τ) of its sum, so the plain S/τ would under-estimate a steady rate (and make
// every young tenant look noisy against a still-empty baseline).
double NoisyNeighbourDetector::rate_of(double sum, double tau, const State& s, Clock::time_point now) {
  const double age = std::max(std::chrono::duration<double>(now - s.first).count(), 1e-3);
  return sum / (tau * -std::expm1(-age / tau));
}

void NoisyNeighbourDetector::decay_locked(State& s, Clock::time_point now) const {
  if (!s.started || now <= s.last) return;
  const double dt = std::chrono::duration<double>(now - s.last).count();
  s.fast_sum *= std::exp(-dt / options_.fast_window.count());
  s.slow_sum *= std::exp(-dt / options_.baseline_window.count());
  s.last = now;
}

void NoisyNeighbourDetector::record_impl(State& s, const TenantId& tenant, double amount, Clock::time_point now) {
  if (!(amount > 0)) amount = 0;  // also drops NaN
  std::optional<NoisyNeighbourAlert> alert;
  {
    std::lock_guard lock(s.mutex);
    if (!s.started) {
      s.started = true;
      s.first = now;
      s.last = now;
    }
    decay_locked(s, now);
    s.fast_sum += amount;
    s.slow_sum += amount;
    const double rate = rate_of(s.fast_sum, options_.fast_window.count(), s, now);
    const double baseline = rate_of(s.slow_sum, options_.baseline_window.count(), s, now);
    const double threshold = options_.factor * std::max(baseline, options_.min_rate);
    const bool warmed = std::chrono::duration<double>(now - s.first) >= options_.warmup;
    if (rate > threshold && warmed) {
      if (!s.alerting) {
        s.alerting = true;
        alert = NoisyNeighbourAlert{tenant, rate, baseline};
      }
    } else if (rate <= threshold) {
      s.alerting = false;
    }
  }
  if (alert && options_.on_alert) options_.on_alert(*alert);
}

RateEstimate NoisyNeighbourDetector::estimate_impl(State& s, Clock::time_point now) const {
  std::lock_guard lock(s.mutex);
  decay_locked(s, now);
  return RateEstimate{rate_of(s.fast_sum, options_.fast_window.count(), s, now),
                      rate_of(s.slow_sum, options_.baseline_window.count(), s, now), s.alerting};
}

}  // namespace tenantai::metering
