// Test helper: a steady clock the test advances by hand (for TTL checks).
#pragma once

#include <chrono>
#include <functional>

namespace tenantai::test_support {

struct ManualClock {
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  std::function<std::chrono::steady_clock::time_point()> fn() {
    return [this] { return now; };
  }
};

}  // namespace tenantai::test_support
