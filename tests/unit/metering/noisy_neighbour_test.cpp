#include <catch2/catch.hpp>
#include <tenantai/core.h>
#include <tenantai/metering/noisy_neighbour.h>

#include <mutex>
#include <thread>
#include <vector>

#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::metering;
using tenantai::test_support::context_for;
using namespace std::chrono_literals;

namespace {
struct Alerts {
  std::mutex mutex;
  std::vector<NoisyNeighbourAlert> list;
  NoisyNeighbourOptions options() {
    NoisyNeighbourOptions o;
    o.on_alert = [this](const NoisyNeighbourAlert& a) {
      std::lock_guard lock(mutex);
      list.push_back(a);
    };
    return o;
  }
};
const auto kT0 = std::chrono::steady_clock::time_point{} + 100'000s;
}  // namespace

TEST_CASE("a steady tenant never alerts - a burst above its own baseline alerts once per episode",
          "[metering][noisy]") {
  Alerts alerts;
  NoisyNeighbourDetector detector(alerts.options());
  with_tenant(context_for("steady"), [&](auto scope) {
    // 20 events/s for 20 minutes: the baseline settles near 20/s.
    auto t = kT0;
    for (int i = 0; i < 20 * 60 * 20; ++i, t += 50ms) detector.record(scope, 1.0, t);
    CHECK(alerts.list.empty());
    const auto est = scope.view(detector.estimate(scope, t));
    CHECK(est.rate == Approx(20).epsilon(0.1));
    CHECK(est.baseline == Approx(20).epsilon(0.1));
    // Burst: 200 events/s for 10 s.
    for (int i = 0; i < 2000; ++i, t += 5ms) detector.record(scope, 1.0, t);
    REQUIRE(alerts.list.size() == 1);
    CHECK(alerts.list[0].tenant == TenantId("steady"));
    CHECK(alerts.list[0].rate > 3 * alerts.list[0].baseline);
    CHECK(scope.view(detector.estimate(scope, t)).alerting);
    // Back to normal: re-armed, and a second burst alerts again.
    for (int i = 0; i < 20 * 120; ++i, t += 50ms) detector.record(scope, 1.0, t);
    CHECK_FALSE(scope.view(detector.estimate(scope, t)).alerting);
    for (int i = 0; i < 2000; ++i, t += 5ms) detector.record(scope, 1.0, t);
    CHECK(alerts.list.size() == 2);
    return 0;
  });
}

TEST_CASE("no alert during warm-up or below the minimum rate", "[metering][noisy]") {
  Alerts alerts;
  auto options = alerts.options();
  options.min_rate = 100;
  NoisyNeighbourDetector detector(options);
  with_tenant(context_for("quiet"), [&](auto scope) {
    auto t = kT0;
    for (int i = 0; i < 600; ++i, t += 1s) detector.record(scope, 1.0, t);   // 1/s
    for (int i = 0; i < 500; ++i, t += 20ms) detector.record(scope, 1.0, t);  // 50/s: under min_rate·3
    return 0;
  });
  with_tenant(context_for("newcomer"), [&](auto scope) {
    auto t = kT0;
    for (int i = 0; i < 5000; ++i, t += 1ms) detector.record(scope, 1.0, t);  // 1000/s in its first 5 s
    return 0;
  });
  CHECK(alerts.list.empty());
  NoisyNeighbourOptions bad;
  bad.fast_window = 0s;
  CHECK_THROWS_AS(NoisyNeighbourDetector(bad), Error);
}

TEST_CASE("one tenant's burst does not move another tenant's rate, also concurrently", "[metering][noisy][isolation][concurrency]") {
  Alerts alerts;
  NoisyNeighbourDetector detector(alerts.options());
  auto noisy = context_for("noisy");
  auto calm = context_for("calm");
  auto feed = [&](const TenantContext& ctx, bool burst) {
    with_tenant(ctx, [&](auto scope) {
      auto t = kT0;
      for (int i = 0; i < 20 * 60 * 5; ++i, t += 50ms) detector.record(scope, 1.0, t);  // 5 min at 20/s
      if (burst) {
        for (int i = 0; i < 4000; ++i, t += 1ms) detector.record(scope, 1.0, t);
      } else {
        for (int i = 0; i < 80; ++i, t += 50ms) detector.record(scope, 1.0, t);
      }
      return 0;
    });
  };
  std::thread a(feed, std::cref(noisy), true), b(feed, std::cref(calm), false);
  a.join();
  b.join();
  REQUIRE(alerts.list.size() == 1);
  CHECK(alerts.list[0].tenant == TenantId("noisy"));
  with_tenant(calm, [&](auto scope) {
    CHECK(scope.view(detector.estimate(scope, kT0 + 304s)).rate == Approx(20).epsilon(0.15));
    return 0;
  });
}
