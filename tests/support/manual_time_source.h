// A TimeSource a test moves by hand (both the wall and the steady reading), for periods, TTLs
// and refills. Thread-safe.
#pragma once

#include <tenantai/core/time_source.h>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace tenantai::test_support {

class ManualTimeSource final : public TimeSource {
 public:
  std::chrono::system_clock::time_point wall() const noexcept override { return wall_start_ + offset(); }
  std::chrono::steady_clock::time_point steady() const noexcept override { return steady_start_ + offset(); }
  void advance(std::chrono::seconds by) { offset_seconds_ += by.count(); }

 private:
  std::chrono::seconds offset() const noexcept { return std::chrono::seconds(offset_seconds_.load()); }
  std::chrono::system_clock::time_point wall_start_ = std::chrono::system_clock::now();
  std::chrono::steady_clock::time_point steady_start_ = std::chrono::steady_clock::now();
  std::atomic<std::int64_t> offset_seconds_{0};
};

}  // namespace tenantai::test_support
