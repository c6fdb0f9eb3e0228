#include <catch2/catch.hpp>
#include <tenantai/core.h>
#include <tenantai/metering/metering.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::metering;
using tenantai::test_support::context_for;

namespace {

// $1 / 1M input tokens, $2 / 1M output tokens: 1 micro per input token, 2 per output token.
void add_prices(PriceTable& t) {

  t.set("m1", ModelPrice{1'000'000, 2'000'000, "small"});

}

BudgetPolicy daily_cap(Micros cap) {
  BudgetPolicy p;
  p.tenant.daily = cap;
  return p;
}

// The API takes a tenant scope, never a bare tenant name.
template <typename B>
concept reserves_by_name = requires(B& b, const CallEstimate& e) { b.reserve(std::string("acme"), e); };
template <typename B>
concept reserves_by_id = requires(B& b, const CallEstimate& e) { b.reserve(TenantId("acme"), e); };
static_assert(!reserves_by_name<BudgetManager>);
static_assert(!reserves_by_id<BudgetManager>);

// A price table, an in-process store and a manager over them.
struct BudgetFixture {
  BudgetFixture() { add_prices(table); }
  PriceTable table;
  InMemoryCounterStore store;
  BudgetManager budgets{store, table};
};

}  // namespace

TEST_CASE("cost arithmetic is integer and rounds estimates up", "[metering][budget]") {
  CHECK(cost_of(1, 2'500'000) == 3);        // 2.5 micros → 3
  CHECK(cost_of(1'000'000, 2'500'000) == 2'500'000);
  CHECK(cost_of(0, 2'500'000) == 0);
  CHECK_THROWS_AS(cost_of(-1, 1), Error);
  CHECK(affordable_tokens(10, 2'500'000, 1000) == 4);  // 4 tokens cost 10, 5 would cost 13
  CHECK(cost_of(affordable_tokens(10, 2'500'000, 1000), 2'500'000) <= 10);
  CHECK(affordable_tokens(10, 0, 77) == 77);
}

TEST_CASE_METHOD(BudgetFixture, "reserve holds the worst case and clamps max_tokens to what is affordable", "[metering][budget]") {
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(budgets.set_policy(scope, daily_cap(1000)).ok());
    // 100 input (100 micros) + 1000 output (2000 micros) does not fit in 1000: clamp to 450.
    auto r = budgets.reserve(scope, CallEstimate{"m1", 100, 1000, 1, true, ""});
    REQUIRE(r.ok());
    const Reservation& res = scope.view(*r);
    CHECK(res.clamped);
    CHECK(res.max_output_tokens == 450);
    CHECK(res.held == 1000);
    CHECK(scope.view(budgets.tenant_summary(scope)).day.reserved == 1000);
    // Nothing left: a second call is refused, not clamped to zero.
    auto second = budgets.reserve(scope, CallEstimate{"m1", 1, 10, 1, true, "second"});
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().code() == ErrorCode::BudgetExceeded);
    // Settle the actual usage: the rest is released.
    auto receipt = budgets.settle(scope, *r, CallUsage{100, 200});
    REQUIRE(receipt.ok());
    CHECK(receipt->cost == 500);
    CHECK(receipt->charged == 500);
    CHECK(scope.view(budgets.tenant_summary(scope)).day.spent == 500);
    CHECK(scope.view(budgets.tenant_summary(scope)).day.reserved == 0);
    return 0;
  });
}

TEST_CASE_METHOD(BudgetFixture, "without clamping a call that does not fit is refused", "[metering][budget]") {
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(budgets.set_policy(scope, daily_cap(1000)).ok());
    auto r = budgets.reserve(scope, CallEstimate{"m1", 100, 1000, 1, false, ""});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::BudgetExceeded);
    CHECK(scope.view(budgets.tenant_summary(scope)).day.reserved == 0);
    return 0;
  });
}

TEST_CASE_METHOD(BudgetFixture, "an unknown model or a tenant without policy fails closed", "[metering][budget]") {
  with_tenant(context_for("nopolicy"), [&](auto scope) {
    auto r = budgets.reserve(scope, CallEstimate{"m1", 1, 1, 1, true, ""});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::NotFound);
    return 0;
  });
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(budgets.set_policy(scope, daily_cap(1'000'000)).ok());
    auto r = budgets.reserve(scope, CallEstimate{"gpt-unpriced", 1, 1, 1, true, ""});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::NotFound);
    CHECK(scope.view(budgets.tenant_summary(scope)).day.reserved == 0);
    auto neg = budgets.reserve(scope, CallEstimate{"m1", -1, 1, 1, true, ""});
    CHECK(neg.error().code() == ErrorCode::InvalidArgument);
    return 0;
  });
}

TEST_CASE_METHOD(BudgetFixture, "settle is idempotent by request id", "[metering][budget]") {
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(budgets.set_policy(scope, daily_cap(100'000)).ok());
    auto r = budgets.reserve(scope, CallEstimate{"m1", 10, 100, 1, true, ""});
    REQUIRE(r.ok());
    auto first = budgets.settle(scope, *r, CallUsage{10, 50});
    auto again = budgets.settle(scope, *r, CallUsage{10, 90});  // a retried settle with other numbers
    REQUIRE(first.ok());
    REQUIRE(again.ok());
    CHECK_FALSE(first->replay);
    CHECK(again->replay);
    CHECK(again->charged == first->charged);
    CHECK(scope.view(budgets.tenant_summary(scope)).day.spent == 110);
    // The same request id cannot reserve again after settling.
    auto dup = budgets.reserve(scope, CallEstimate{"m1", 10, 100, 1, true, ""});
    CHECK(dup.error().code() == ErrorCode::AlreadyExists);
    // Release after settle changes nothing.
    CHECK_FALSE(budgets.release(scope, *r));
    CHECK(scope.view(budgets.tenant_summary(scope)).day.spent == 110);
    return 0;
  });
}

TEST_CASE_METHOD(BudgetFixture, "release on failure returns the hold - a released reservation cannot be settled", "[metering][budget]") {
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(budgets.set_policy(scope, daily_cap(1000)).ok());
    auto r = budgets.reserve(scope, CallEstimate{"m1", 0, 500, 1, true, ""});
    REQUIRE(r.ok());
    CHECK(scope.view(budgets.tenant_summary(scope)).day.reserved == 1000);
    CHECK(budgets.release(scope, *r));
    CHECK_FALSE(budgets.release(scope, *r));
    CHECK(scope.view(budgets.tenant_summary(scope)).day.reserved == 0);
    auto late = budgets.settle(scope, *r, CallUsage{0, 10});
    REQUIRE_FALSE(late.ok());
    CHECK(late.error().code() == ErrorCode::NotFound);
    CHECK(scope.view(budgets.tenant_summary(scope)).day.spent == 0);
    return 0;
  });
}

TEST_CASE("a hold that outlives its timeout is released automatically", "[metering][budget]") {
  PriceTable table;
  add_prices(table);
  InMemoryCounterStore store;
  BudgetOptions options;
  options.max_hold = std::chrono::milliseconds(1);
  BudgetManager budgets(store, table, options);
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(budgets.set_policy(scope, daily_cap(1000)).ok());
    auto r = budgets.reserve(scope, CallEstimate{"m1", 0, 500, 500, true, "a"});
    REQUIRE(r.ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    // The expired hold no longer blocks a new reservation of the full cap.
    auto next = budgets.reserve(scope, CallEstimate{"m1", 0, 500, 500, true, "b"});
    REQUIRE(next.ok());
    CHECK(scope.view(*next).held == 1000);
    auto late = budgets.settle(scope, *r, CallUsage{0, 500});
    CHECK(late.error().code() == ErrorCode::NotFound);
    return 0;
  });
}

TEST_CASE_METHOD(BudgetFixture, "usage beyond the reservation is reported as overage, never charged past the cap", "[metering][budget]") {
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(budgets.set_policy(scope, daily_cap(300)).ok());
    auto r = budgets.reserve(scope, CallEstimate{"m1", 100, 100, 1, true, ""});
    REQUIRE(r.ok());
    CHECK(scope.view(*r).held == 300);
    auto receipt = budgets.settle(scope, *r, CallUsage{100, 400});  // model ignored max_tokens
    REQUIRE(receipt.ok());
    CHECK(receipt->cost == 900);
    CHECK(receipt->charged == 300);
    CHECK(receipt->overage == 600);
    CHECK(scope.view(budgets.tenant_summary(scope)).day.spent == 300);
    return 0;
  });
}

TEST_CASE_METHOD(BudgetFixture, "per-actor caps apply inside the tenant cap", "[metering][budget]") {
  BudgetPolicy policy;
  policy.tenant.monthly = 1500;
  policy.per_actor.daily = 1000;
  policy.actor_overrides["bob"] = Caps{200, std::nullopt};
  with_tenant(context_for("acme", "alice"), [&](auto scope) {
    REQUIRE(budgets.set_policy(scope, policy).ok());
    auto r = budgets.reserve(scope, CallEstimate{"m1", 0, 10'000, 1, true, ""});
    REQUIRE(r.ok());
    CHECK(scope.view(*r).held == 1000);  // alice's daily cap is the tighter one
    REQUIRE(budgets.settle(scope, *r, CallUsage{0, 500}).ok());
    CHECK(scope.view(budgets.actor_summary(scope)).day.spent == 1000);
    return 0;
  });
  with_tenant(context_for("acme", "bob"), [&](auto scope) {
    auto r = budgets.reserve(scope, CallEstimate{"m1", 0, 10'000, 1, true, ""});
    REQUIRE(r.ok());
    CHECK(scope.view(*r).held == 200);  // bob's override
    REQUIRE(budgets.release(scope, *r));
    return 0;
  });
  with_tenant(context_for("acme", "carol"), [&](auto scope) {
    auto r = budgets.reserve(scope, CallEstimate{"m1", 0, 10'000, 1, true, ""});
    REQUIRE(r.ok());
    CHECK(scope.view(*r).held == 500);  // what is left of the tenant's monthly 1500
    CHECK(scope.view(budgets.tenant_summary(scope)).month.spent == 1000);
    return 0;
  });
}

TEST_CASE("soft alerts fire once per threshold crossing", "[metering][budget]") {
  PriceTable table;
  add_prices(table);
  InMemoryCounterStore store;
  std::mutex mutex;
  std::vector<BudgetAlert> alerts;
  BudgetOptions options;
  options.on_alert = [&](const BudgetAlert& a) {
    std::lock_guard lock(mutex);
    alerts.push_back(a);
  };
  BudgetManager budgets(store, table, options);
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(budgets.set_policy(scope, daily_cap(1000)).ok());
    for (int i = 0; i < 5; ++i) {  // 5 × 200 micros: crosses 50 % (at 600), 80 % (800), 100 %
      auto r = budgets.reserve(scope, CallEstimate{"m1", 200, 0, 0, true, std::to_string(i)});
      REQUIRE(r.ok());
      REQUIRE(budgets.settle(scope, *r, CallUsage{200, 0}).ok());
    }
    return 0;
  });
  REQUIRE(alerts.size() == 3);
  CHECK(alerts[0].permille == 500);
  CHECK(alerts[0].spent == 600);
  CHECK(alerts[1].permille == 800);
  CHECK(alerts[2].permille == 1000);
  CHECK(alerts[2].account == "tenant/day");
  CHECK(alerts[2].tenant == TenantId("acme"));
}

TEST_CASE_METHOD(BudgetFixture, "64 threads racing one tenant never spend past the cap", "[metering][budget][concurrency]") {
  constexpr Micros kCap = 50'000;
  constexpr int kThreads = 64;
  constexpr int kCallsPerThread = 40;
  auto ctx = context_for("racer");
  with_tenant(ctx, [&](auto scope) { return budgets.set_policy(scope, daily_cap(kCap)).ok(); });
  std::atomic<Micros> charged{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      with_tenant(ctx, [&](auto scope) {
        for (int i = 0; i < kCallsPerThread; ++i) {
          // worst case 50 + 2·100 = 250 micros; actual 50 + 2·(60..100)
          auto r = budgets.reserve(scope, CallEstimate{"m1", 50, 100, 100, false,
                                                       std::to_string(t) + "-" + std::to_string(i)});
          if (!r.ok()) {
            ++refused;
            continue;
          }
          std::this_thread::yield();  // the model call
          auto receipt = budgets.settle(scope, *r, CallUsage{50, 60 + (t + i) % 41});
          if (receipt.ok()) charged += receipt->charged;
        }
        return 0;
      });
    });
  }
  for (auto& th : threads) th.join();
  const auto spent = with_tenant(ctx, [&](auto scope) { return scope.view(budgets.tenant_summary(scope)).day; });
  CHECK(spent.spent <= kCap);
  CHECK(spent.spent == charged.load());
  CHECK(spent.reserved == 0);
  CHECK(refused.load() > 0);                 // demand (64·40·≥170) exceeded the cap …
  CHECK(spent.spent > kCap - 250);           // … and the budget was actually used up to one call
}

TEST_CASE_METHOD(BudgetFixture, "tenants' budgets are separate partitions, also under concurrent load", "[metering][budget][isolation][concurrency]") {
  constexpr int kTenants = 8;
  std::vector<TenantContext> contexts;
  for (int i = 0; i < kTenants; ++i) {
    contexts.push_back(context_for("budget-tenant-" + std::to_string(i)));
    // Each tenant gets a distinct cap (its canary): 10'000 + i.
    with_tenant(contexts.back(), [&](auto scope) { return budgets.set_policy(scope, daily_cap(10'000 + i)).ok(); });
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < kTenants; ++i) {
    threads.emplace_back([&, i] {
      with_tenant(contexts[i], [&](auto scope) {
        for (int k = 0; k < 400; ++k) {
          auto r = budgets.reserve(scope, CallEstimate{"m1", 1, 0, 0, true, std::to_string(k)});
          if (r.ok()) (void)budgets.settle(scope, *r, CallUsage{1, 0});
        }
        return 0;
      });
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < kTenants; ++i) {
    with_tenant(contexts[i], [&](auto scope) {
      CHECK(scope.view(budgets.tenant_summary(scope)).day.spent == 400);  // exactly its own calls
      // Its own cap (canary) still has exactly 10'000 + i - 400 left.
      auto r = budgets.reserve(scope, CallEstimate{"m1", 0, 1'000'000, 1, true, "probe"});
      REQUIRE(r.ok());
      CHECK(scope.view(*r).held == 10'000 + i - 400);
      return 0;
    });
  }
}

TEST_CASE_METHOD(BudgetFixture, "a reservation of one tenant cannot be settled or released by another", "[metering][budget][isolation]") {
  auto acme = context_for("acme");
  auto globex = context_for("globex");
  // The same call site runs for both tenants, so the brands match and the run-time check decides.
  auto run = [&](const TenantContext& ctx, bool steal) {
    return with_tenant(ctx, [&](auto scope) {
      REQUIRE(budgets.set_policy(scope, daily_cap(1000)).ok());
      auto r = budgets.reserve(scope, CallEstimate{"m1", 0, 100, 1, true, ""});
      REQUIRE(r.ok());
      static std::optional<decltype(scope.bind(Reservation{}))> stash;
      if (!steal) {
        stash.emplace(*r);
        return 0;
      }
      CHECK_THROWS_MATCHES(budgets.settle(scope, *stash, CallUsage{0, 1}), Error,
                           Catch::Predicate<Error>([](const Error& e) { return e.code() == ErrorCode::IsolationViolation; }));
      CHECK_THROWS_AS(budgets.release(scope, *stash), Error);
      return 1;
    });
  };
  run(acme, false);
  CHECK(run(globex, true) == 1);
  with_tenant(acme, [&](auto scope) {
    CHECK(scope.view(budgets.tenant_summary(scope)).day.reserved == 200);  // acme's hold untouched
    return 0;
  });
}

TEST_CASE("the store charges a forgotten settle retry never twice", "[metering][budget]") {
  InMemoryCounterStore store(2);  // remembers two settled ids
  auto ctx = context_for("acme");
  auto hold = [&](const std::string& id) {
    HoldRequest r;
    r.hold_id = id;
    r.accounts = {LedgerAccount{"tenant/day/1", 1000}};
    r.want = 100;
    r.min = 100;
    r.expires_at = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    return store.reserve(ctx, r);
  };
  for (const char* id : {"a", "b", "c"}) {
    REQUIRE(hold(id).ok());
    REQUIRE(store.settle(ctx, id, 60).ok());
  }
  CHECK(store.settle(ctx, "c", 60)->replay);
  auto forgotten = store.settle(ctx, "a", 60);
  REQUIRE_FALSE(forgotten.ok());
  CHECK(forgotten.error().code() == ErrorCode::NotFound);
  CHECK(store.balance(ctx, "tenant/day/1").spent == 180);
  // A hold that does not fit changes nothing (all-or-nothing across accounts).
  HoldRequest big;
  big.hold_id = "big";
  big.accounts = {LedgerAccount{"tenant/day/1", 1000}, LedgerAccount{"actor/day/1", 10}};
  big.want = 50;
  big.min = 50;
  big.expires_at = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  CHECK(store.reserve(ctx, big).error().code() == ErrorCode::BudgetExceeded);
  CHECK(store.balance(ctx, "tenant/day/1").reserved == 0);
}

static_assert(holds_scoped_v<BudgetHold<struct SomeBrand>>, "a BudgetHold must not leave its with_tenant callback");

TEST_CASE_METHOD(BudgetFixture, "a BudgetHold releases on failure and keeps a settled charge",
                 "[metering][budget]") {
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(budgets.set_policy(scope, daily_cap(1000)).ok());
    // The model call throws: the hold is released during unwinding.
    try {
      auto h = budgets.hold(scope, CallEstimate{"m1", 100, 400, 1, true, "fails"});
      REQUIRE(h.ok());
      CHECK(scope.view(budgets.tenant_summary(scope)).day.reserved == 900);
      throw std::runtime_error("model server down");
    } catch (const std::runtime_error&) {
    }
    CHECK(scope.view(budgets.tenant_summary(scope)).day.reserved == 0);
    {
      auto h = budgets.hold(scope, CallEstimate{"m1", 100, 400, 1, true, "works"});
      REQUIRE(h.ok());
      CHECK(h->max_output_tokens() == 400);
      auto moved = std::move(*h);  // only the moved-to handle acts
      REQUIRE(moved.settle(CallUsage{100, 100}).ok());
    }
    CHECK(scope.view(budgets.tenant_summary(scope)).day.spent == 300);
    CHECK(scope.view(budgets.tenant_summary(scope)).day.reserved == 0);
    return 0;
  });
}
