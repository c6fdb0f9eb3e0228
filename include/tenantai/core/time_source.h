// TimeSource: the clock every layer reads (TTLs, rate-limit refills, budget periods, audit
// timestamps, key expiry). The platform hands one clock to all its layers, so a host (or a
// test) that controls time controls it everywhere at once.
#pragma once

#include <chrono>
#include <memory>

namespace tenantai {

// Implementations must be thread-safe; neither function may throw. `steady()` never goes
// backwards (it drives TTLs and refill intervals); `wall()` is UTC wall time (day and month
// periods, timestamps in audit records and memory rows).
class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual std::chrono::system_clock::time_point wall() const noexcept = 0;
  virtual std::chrono::steady_clock::time_point steady() const noexcept = 0;
};

// The operating system's clocks. Stateless, thread-safe.
class SystemTimeSource final : public TimeSource {
 public:
  std::chrono::system_clock::time_point wall() const noexcept override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point steady() const noexcept override { return std::chrono::steady_clock::now(); }
};

// A shared SystemTimeSource (never null).
inline std::shared_ptr<const TimeSource> system_time_source() {
  static const auto clock = std::make_shared<const SystemTimeSource>();
  return clock;
}

}  // namespace tenantai
