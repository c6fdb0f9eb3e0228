#include <catch2/catch.hpp>
#include <tenantai/core.h>
#include <tenantai/metering/fair_scheduler.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::metering;
using tenantai::test_support::context_for;

namespace {

void add_tiers(TenantTiers& t) {

  t.define(TierPolicy{"free", 1.0, 600, 1'000'000, 0, 0, 1000});
  t.define(TierPolicy{"gold", 3.0, 600, 1'000'000, 0, 0, 1000});
  t.define(TierPolicy{"tiny", 1.0, 600, 1'000'000, 0, 0, 16});

}

struct Served {
  std::string tenant;
  std::int64_t cost;  // VTC cost: input + 2 · output
};

// Submits `n` jobs of (input, output) tokens for the context; each records itself when it runs.
void submit_jobs(FairScheduler& s, const TenantContext& ctx, int n, std::int64_t input, std::int64_t output,
                 std::vector<Served>& log) {
  with_tenant(ctx, [&](auto scope) {
    for (int i = 0; i < n; ++i) {
      auto st = s.submit(scope, ScheduledJob{input, output, [&log, input, output](SlotGrant g) {
                                               log.push_back({g.tenant().str(), input + 2 * output});
                                               g.complete(output);
                                             }});
      REQUIRE(st.ok());
    }
    return 0;
  });
}

// Largest |served(a) − served(b)| over the prefix of `log` in which both still had work queued
// (b is the light tenant: the window ends when its last job is served).
std::int64_t max_gap_while_backlogged(const std::vector<Served>& log, const std::string& a, const std::string& b) {
  std::size_t end = 0;
  for (std::size_t i = 0; i < log.size(); ++i) {
    if (log[i].tenant == b) end = i;
  }
  std::int64_t wa = 0, wb = 0, gap = 0;
  for (std::size_t i = 0; i < end; ++i) {
    (log[i].tenant == a ? wa : wb) += log[i].cost;
    gap = std::max<std::int64_t>(gap, std::llabs(wa - wb));
  }
  return gap;
}

}  // namespace

TEST_CASE("VTC keeps the service gap of two backlogged tenants within 2x the largest request - FCFS does not",
          "[metering][scheduler]") {
  TenantTiers t;
  add_tiers(t);
  auto heavy = context_for("heavy");
  auto light = context_for("light");
  for (auto* ctx : {&heavy, &light}) with_tenant(*ctx, [&](auto scope) { return t.assign(scope, "free").ok(); });
  const std::int64_t u = 10 + 2 * 10;  // largest request's VTC cost
  std::int64_t gaps[2] = {0, 0};
  for (int policy = 0; policy < 2; ++policy) {
    boost::asio::io_context io;
    FairSchedulerOptions options;
    options.slots = 1;
    options.policy = policy == 0 ? SchedulingPolicy::kVirtualTokenCounter : SchedulingPolicy::kFirstComeFirstServed;
    FairScheduler s(io.get_executor(), t, options);
    std::vector<Served> log;
    submit_jobs(s, heavy, 60, 10, 10, log);
    submit_jobs(s, light, 30, 10, 10, log);
    io.run();
    REQUIRE(log.size() == 90);
    gaps[policy] = max_gap_while_backlogged(log, "heavy", "light");
  }
  CHECK(gaps[0] <= 2 * u);
  CHECK(gaps[1] > 2 * u);  // FCFS serves all 60 heavy jobs first
}

TEST_CASE("weights 3:1 give a 3:1 service ratio while both are backlogged", "[metering][scheduler]") {
  TenantTiers t;
  add_tiers(t);
  auto gold = context_for("gold-tenant");
  auto free = context_for("free-tenant");
  with_tenant(gold, [&](auto scope) { return t.assign(scope, "gold").ok(); });
  with_tenant(free, [&](auto scope) { return t.assign(scope, "free").ok(); });
  boost::asio::io_context io;
  FairSchedulerOptions options;
  options.slots = 2;
  FairScheduler s(io.get_executor(), t, options);
  std::vector<Served> log;
  submit_jobs(s, free, 400, 20, 30, log);
  submit_jobs(s, gold, 400, 20, 30, log);
  io.run();
  REQUIRE(log.size() == 800);
  // Window: until the gold tenant's queue drains.
  std::size_t end = 0;
  for (std::size_t i = 0; i < log.size(); ++i) {
    if (log[i].tenant == "gold-tenant") end = i;
  }
  std::int64_t wg = 0, wf = 0;
  for (std::size_t i = 0; i <= end; ++i) (log[i].tenant == "gold-tenant" ? wg : wf) += log[i].cost;
  const double ratio = static_cast<double>(wg) / static_cast<double>(wf);
  CHECK(ratio >= 2.7);
  CHECK(ratio <= 3.3);
}

TEST_CASE("a tenant returning from idle is lifted to the current counter (no banking)", "[metering][scheduler]") {
  TenantTiers t;
  add_tiers(t);
  auto busy = context_for("busy");
  auto sleeper = context_for("sleeper");
  for (auto* ctx : {&busy, &sleeper}) with_tenant(*ctx, [&](auto scope) { return t.assign(scope, "free").ok(); });
  boost::asio::io_context io;
  FairSchedulerOptions options;
  options.slots = 1;
  FairScheduler s(io.get_executor(), t, options);
  std::vector<Served> log;
  submit_jobs(s, busy, 100, 10, 10, log);
  io.run();
  io.restart();
  const double busy_counter = with_tenant(busy, [&](auto scope) { return scope.view(s.schedule(scope)).counter; });
  CHECK(busy_counter == Approx(100 * 30.0));
  log.clear();
  submit_jobs(s, sleeper, 20, 10, 10, log);  // the first one is dispatched at once
  const double lifted = with_tenant(sleeper, [&](auto scope) { return scope.view(s.schedule(scope)).counter; });
  // Started from the busy tenant's last dispatch counter (before its final output was charged),
  // not from 0.
  CHECK(lifted >= busy_counter - 30);
  submit_jobs(s, busy, 20, 10, 10, log);
  io.run();
  REQUIRE(log.size() == 40);
  // Without the lift the sleeper would be served 20 times in a row; with it they alternate.
  int longest = 0, run = 0;
  for (const auto& entry : log) {
    run = entry.tenant == "sleeper" ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  CHECK(longest <= 3);
}

TEST_CASE("per-tenant queue limits reject the excess with RateLimited, other tenants unaffected",
          "[metering][scheduler]") {
  TenantTiers t;
  add_tiers(t);
  auto a = context_for("queue-a");
  auto b = context_for("queue-b");
  for (auto* ctx : {&a, &b}) with_tenant(*ctx, [&](auto scope) { return t.assign(scope, "tiny").ok(); });
  boost::asio::io_context io;
  FairSchedulerOptions options;
  options.slots = 1;
  FairScheduler s(io.get_executor(), t, options);
  int ran = 0;
  auto job = [&ran] { return ScheduledJob{1, 1, [&ran](SlotGrant g) { ++ran; g.complete(1); }}; };
  with_tenant(a, [&](auto scope) {
    for (int i = 0; i < 17; ++i) REQUIRE(s.submit(scope, job()).ok());  // 1 running + 16 queued
    auto st = s.submit(scope, job());
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code() == ErrorCode::RateLimited);
    CHECK_THAT(st.error().message(), Catch::Contains("queue-a") && Catch::Contains("16"));
    CHECK(scope.view(s.schedule(scope)).queued == 16);
    return 0;
  });
  with_tenant(b, [&](auto scope) {
    CHECK(s.submit(scope, job()).ok());
    return 0;
  });
  io.run();
  CHECK(ran == 18);
}

TEST_CASE("the scheduler fails closed for tenants without a tier and rejects malformed jobs", "[metering][scheduler]") {
  TenantTiers t;
  add_tiers(t);
  boost::asio::io_context io;
  FairScheduler s(io.get_executor(), t);
  with_tenant(context_for("no-tier"), [&](auto scope) {
    auto st = s.submit(scope, ScheduledJob{1, 1, [](SlotGrant g) { g.complete(1); }});
    CHECK(st.error().code() == ErrorCode::NotFound);
    return 0;
  });
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(t.assign(scope, "free").ok());
    CHECK(s.submit(scope, ScheduledJob{1, 1, {}}).error().code() == ErrorCode::InvalidArgument);
    CHECK(s.submit(scope, ScheduledJob{-1, 1, [](SlotGrant) {}}).error().code() == ErrorCode::InvalidArgument);
    return 0;
  });
  FairSchedulerOptions zero;
  zero.slots = 0;
  CHECK_THROWS_AS(FairScheduler(io.get_executor(), t, zero), Error);
}

TEST_CASE("a throwing job frees its slot and is counted", "[metering][scheduler]") {
  TenantTiers t;
  add_tiers(t);
  boost::asio::io_context io;
  FairSchedulerOptions options;
  options.slots = 1;
  FairScheduler s(io.get_executor(), t, options);
  int ran = 0;
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(t.assign(scope, "free").ok());
    REQUIRE(s.submit(scope, ScheduledJob{1, 1, [](SlotGrant) { throw std::runtime_error("backend down"); }}).ok());
    REQUIRE(s.submit(scope, ScheduledJob{1, 1, [&ran](SlotGrant g) { ++ran; g.complete(1); }}).ok());
    return 0;
  });
  io.run();
  CHECK(ran == 1);
  CHECK(s.failed_jobs() == 1);
  CHECK(s.free_slots() == 1);
}

TEST_CASE("under concurrent submitters on a thread pool, slots are never exceeded and grants stay with their tenant",
          "[metering][scheduler][isolation][concurrency]") {
  TenantTiers t;
  add_tiers(t);
  constexpr int kTenants = 4;
  constexpr int kJobs = 150;
  std::vector<TenantContext> contexts;
  for (int i = 0; i < kTenants; ++i) {
    contexts.push_back(context_for("sched-" + std::to_string(i)));
    with_tenant(contexts.back(), [&](auto scope) { return t.assign(scope, "tiny").ok(); });
  }
  boost::asio::thread_pool pool(3);
  FairSchedulerOptions options;
  options.slots = 2;
  FairScheduler s(pool.get_executor(), t, options);
  std::atomic<int> running{0}, peak{0}, done{0}, crossings{0}, rejected{0}, unexpected{0};
  std::vector<std::thread> submitters;
  for (int i = 0; i < kTenants; ++i) {
    submitters.emplace_back([&, i] {
      with_tenant(contexts[i], [&](auto scope) {
        const std::string canary = scope.tenant().str();
        for (int k = 0; k < kJobs;) {
          auto st = s.submit(scope, ScheduledJob{5, 5, [&, canary](SlotGrant g) {
                                                   const int now = ++running;
                                                   int p = peak.load();
                                                   while (now > p && !peak.compare_exchange_weak(p, now)) {
                                                   }
                                                   if (g.tenant().str() != canary) ++crossings;
                                                   --running;
                                                   ++done;
                                                   g.complete(5);
                                                 }});
          if (st.ok()) {
            ++k;
          } else {
            if (st.error().code() != ErrorCode::RateLimited) ++unexpected;  // Catch2 asserts are not thread-safe
            ++rejected;
            std::this_thread::yield();
          }
        }
        return 0;
      });
    });
  }
  for (auto& th : submitters) th.join();
  pool.join();
  CHECK(unexpected == 0);
  CHECK(done == kTenants * kJobs);
  CHECK(peak <= 2);
  CHECK(crossings == 0);
  CHECK(s.free_slots() == 2);
  for (int i = 0; i < kTenants; ++i) {
    with_tenant(contexts[i], [&](auto scope) {
      auto view = scope.view(s.schedule(scope));
      CHECK(view.served_input == 5 * kJobs);  // exactly its own jobs
      CHECK(view.served_output == 5 * kJobs);
      CHECK(view.queued == 0);
      return 0;
    });
  }
}

TEST_CASE("a request whose deadline passes while queued never takes a slot", "[metering][scheduler]") {
  TenantTiers t;
  add_tiers(t);
  ApiKeyAuthenticator auth;
  auto key = auth.issue(Principal{TenantId("hurried"), "user", {}, {}});
  const TenantContext patient = auth.authenticate(key.secret).value();
  const TenantContext hurried = auth.authenticate(key.secret, RequestOptions{"", std::chrono::milliseconds(1)}).value();
  with_tenant(patient, [&](auto scope) { return t.assign(scope, "free").ok(); });
  boost::asio::io_context io;
  FairSchedulerOptions options;
  options.slots = 1;
  FairScheduler s(io.get_executor(), t, options);
  std::optional<SlotGrant> held;
  bool late_ran = false;
  std::optional<ErrorCode> late_error;
  with_tenant(patient, [&](auto scope) {
    return s.submit(scope, ScheduledJob{1, 1, [&](SlotGrant g) { held.emplace(std::move(g)); }}).ok();
  });
  io.poll();  // the first job now holds the only slot
  REQUIRE(held.has_value());
  with_tenant(hurried, [&](auto scope) {
    return s.submit(scope, ScheduledJob{1, 1, [&](SlotGrant g) { late_ran = true; g.complete(1); },
                                        [&](const Error& e) { late_error = e.code(); }})
        .ok();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  held->complete(1);
  io.restart();
  io.poll();
  CHECK_FALSE(late_ran);
  REQUIRE(late_error.has_value());
  CHECK(*late_error == ErrorCode::DeadlineExceeded);
  CHECK(s.expired_jobs() == 1);
  CHECK(s.free_slots() == 1);
  with_tenant(patient, [&](auto scope) {
    CHECK(scope.view(s.schedule(scope)).served_input == 1);  // the expired request was not charged
    return 0;
  });
}
