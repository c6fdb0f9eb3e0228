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
    const double rate = s.fast_sum / options_.fast_window.count();
    const double baseline = s.slow_sum / options_.baseline_window.count();
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
  return RateEstimate{s.fast_sum / options_.fast_window.count(), s.slow_sum / options_.baseline_window.count(),
                      s.alerting};
}

}  // namespace tenantai::metering
