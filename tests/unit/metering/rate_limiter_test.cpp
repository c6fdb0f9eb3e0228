#include <catch2/catch.hpp>
#include <tenantai/core.h>
#include <tenantai/metering/rate_limiter.h>

#include <atomic>
#include <thread>
#include <vector>

#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::metering;
using tenantai::test_support::context_for;
using namespace std::chrono_literals;

namespace {
void add_tiers(TenantTiers& t) {

  t.define(TierPolicy{"free", 1.0, 60, 1000, 5, 0, 16});       // 1 request/s, bursts of 5
  t.define(TierPolicy{"pro", 3.0, 6000, 1'000'000, 0, 0, 64});

}
template <typename L>
concept decides_by_name = requires(L& l) { l.decide(std::string("acme"), 1); };
static_assert(!decides_by_name<RateLimiter>);
}  // namespace

TEST_CASE("requests beyond the burst are denied with an exact retry-after", "[metering][ratelimit]") {
  TenantTiers t;
  add_tiers(t);
  InMemoryCounterStore store;
  RateLimiter limiter(t, store);
  const auto t0 = RateLimiter::Clock::time_point{} + 1000s;
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(t.assign(scope, "free").ok());
    for (int i = 0; i < 5; ++i) CHECK(limiter.decide(scope, 1, t0)->allowed);
    auto denied = limiter.decide(scope, 1, t0);
    REQUIRE_FALSE(denied->allowed);
    CHECK(std::string(denied->limit) == "requests_per_minute");
    CHECK(denied->retry_after == 1s);  // 60/minute refills one request per second
    CHECK_FALSE(limiter.decide(scope, 1, t0 + 999ms)->allowed);
    CHECK(limiter.decide(scope, 1, t0 + 1s)->allowed);
    // After a long idle period the bucket is full again but never above its burst.
    const auto later = t0 + 1h;
    for (int i = 0; i < 5; ++i) CHECK(limiter.decide(scope, 1, later)->allowed);
    CHECK_FALSE(limiter.decide(scope, 1, later)->allowed);
    return 0;
  });
}

TEST_CASE("the token bucket limits tokens per minute and both buckets draw all-or-nothing", "[metering][ratelimit]") {
  TenantTiers t;
  add_tiers(t);
  InMemoryCounterStore store;
  RateLimiter limiter(t, store);
  const auto t0 = RateLimiter::Clock::time_point{} + 1000s;
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(t.assign(scope, "free").ok());
    CHECK(limiter.decide(scope, 900, t0)->allowed);
    auto denied = limiter.decide(scope, 200, t0);  // 100 tokens left
    REQUIRE_FALSE(denied->allowed);
    CHECK(std::string(denied->limit) == "tokens_per_minute");
    CHECK(denied->retry_after == 6s);  // 100 missing tokens at 1000/minute
    // The denied request did not consume a request slot: 4 of 5 are left.
    for (int i = 0; i < 4; ++i) CHECK(limiter.decide(scope, 0, t0)->allowed);
    CHECK_FALSE(limiter.decide(scope, 0, t0)->allowed);
    // A request larger than the bucket can never fit.
    auto never = limiter.decide(scope, 5000, t0 + 1h);
    REQUIRE_FALSE(never->allowed);
    CHECK(never->retry_after == std::chrono::nanoseconds::max());
    return 0;
  });
}

TEST_CASE("admit throws RateLimited naming the limit - unknown tenants fail closed", "[metering][ratelimit]") {
  TenantTiers t;
  add_tiers(t);
  InMemoryCounterStore store;
  RateLimiter limiter(t, store);
  with_tenant(context_for("untiered"), [&](auto scope) {
    auto d = limiter.decide(scope, 1);
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().code() == ErrorCode::NotFound);
    CHECK_THROWS_AS(limiter.admit(scope, 1), Error);
    CHECK(t.assign(scope, "platinum").error().code() == ErrorCode::NotFound);
    return 0;
  });
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(t.assign(scope, "free").ok());
    for (int i = 0; i < 5; ++i) limiter.admit(scope, 1);
    try {
      limiter.admit(scope, 1);
      FAIL("expected RateLimited");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::RateLimited);
      CHECK_THAT(e.message(), Catch::Contains("requests_per_minute") && Catch::Contains("retry after"));
      // The same wait as a value, for Retry-After headers: at most one refill interval (1 s).
      CHECK(e.retry_after() > std::chrono::milliseconds(0));
      CHECK(e.retry_after() <= std::chrono::milliseconds(1000));
    }
    return 0;
  });
}

TEST_CASE("one tenant exhausting its limit does not touch another's bucket, also concurrently", "[metering][ratelimit][isolation][concurrency]") {
  TenantTiers t;
  add_tiers(t);
  InMemoryCounterStore store;
  RateLimiter limiter(t, store);
  const auto t0 = RateLimiter::Clock::time_point{} + 1000s;
  std::vector<TenantContext> contexts;
  for (int i = 0; i < 8; ++i) {
    contexts.push_back(context_for("rl-tenant-" + std::to_string(i)));
    with_tenant(contexts.back(), [&](auto scope) { return t.assign(scope, "free").ok(); });
  }
  std::vector<int> allowed(8, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      with_tenant(contexts[i], [&](auto scope) {
        // Tenant i hammers i·100 times at the same instant: exactly its burst (5) passes.
        for (int k = 0; k < (i + 1) * 100; ++k) allowed[i] += limiter.decide(scope, 1, t0)->allowed ? 1 : 0;
        return 0;
      });
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < 8; ++i) CHECK(allowed[i] == 5);
}

TEST_CASE("tiers are validated when defined", "[metering][ratelimit]") {

  TenantTiers t;
  auto tier = [](std::string name, double weight, std::int64_t rpm, std::int64_t burst) {
    TierPolicy p;
    p.name = std::move(name);
    p.weight = weight;
    p.requests_per_minute = rpm;
    p.request_burst = burst;
    return p;
  };
  CHECK_THROWS_AS(t.define(tier("", 1.0, 60, 0)), Error);
  CHECK_THROWS_AS(t.define(tier("x", 0.0, 60, 0)), Error);
  CHECK_THROWS_AS(t.define(tier("x", 1.0, -1, 0)), Error);
  CHECK_THROWS_AS(t.define(tier("x", 1.0, 60, 200'000'000)), Error);
  CHECK_NOTHROW(t.define(tier("x", 1.0, 60, 0)));
  CHECK(t.find_tier("x").ok());
}

TEST_CASE("alternating tenants on one thread never share buckets or tiers (per-thread caches)",
          "[metering][ratelimit][isolation]") {
  TenantTiers t;
  add_tiers(t);
  InMemoryCounterStore store;
  RateLimiter limiter(t, store);
  const auto t0 = RateLimiter::Clock::time_point{} + 1000s;
  auto a = context_for("alt-a");
  auto b = context_for("alt-b");
  with_tenant(a, [&](auto scope) { return t.assign(scope, "free").ok(); });
  with_tenant(b, [&](auto scope) { return t.assign(scope, "pro").ok(); });
  int allowed_a = 0, allowed_b = 0;
  for (int i = 0; i < 50; ++i) {
    allowed_a += with_tenant(a, [&](auto scope) { return limiter.decide(scope, 1, t0)->allowed ? 1 : 0; });
    allowed_b += with_tenant(b, [&](auto scope) { return limiter.decide(scope, 1, t0)->allowed ? 1 : 0; });
  }
  CHECK(allowed_a == 5);   // free: burst 5
  CHECK(allowed_b == 50);  // pro: burst 6000
  // Re-assigning a tier takes effect at once, even for a thread that just cached the old one.
  with_tenant(b, [&](auto scope) {
    REQUIRE(t.assign(scope, "free").ok());
    return 0;
  });
  const bool b_allowed = with_tenant(b, [&](auto scope) { return limiter.decide(scope, 0, t0)->allowed; });
  CHECK(b_allowed);  // pro bucket had 5950 left, clamped to the free burst (5): still allows
  int more = 0;
  for (int i = 0; i < 10; ++i) more += with_tenant(b, [&](auto scope) { return limiter.decide(scope, 0, t0)->allowed ? 1 : 0; });
  CHECK(more == 4);  // 5 in the clamped bucket, one used above
  // A second store in the same thread starts from empty partitions, not from the first one's.
  InMemoryCounterStore other;
  RateLimiter fresh(t, other);
  CHECK(with_tenant(a, [&](auto scope) { return fresh.decide(scope, 1, t0)->allowed; }));
}
