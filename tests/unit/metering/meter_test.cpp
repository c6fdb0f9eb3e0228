#include <catch2/catch.hpp>
#include <tenantai/core.h>
#include <tenantai/metering/meter.h>

#include <atomic>
#include <thread>
#include <vector>

#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::metering;
using tenantai::test_support::context_for;
using namespace std::chrono_literals;

namespace {
void add_prices(PriceTable& t) {

  t.set("m1", ModelPrice{1'000'000, 2'000'000, "small"});
  t.set("m2", ModelPrice{2'500'000, 10'000'000, "large"});

}
UsageEvent ev(std::string feature, std::string model, std::int64_t in, std::int64_t out) {
  UsageEvent e;
  e.feature = std::move(feature);
  e.model = std::move(model);
  e.input_tokens = in;
  e.output_tokens = out;
  return e;
}
}  // namespace

TEST_CASE("usage is summed per actor, feature, model and hour with cost from the price table", "[metering][meter]") {
  PriceTable table;
  add_prices(table);
  std::chrono::system_clock::time_point now = std::chrono::sys_days{std::chrono::year{2026} / 11 / 22} + 10h + 5min;
  MeterOptions options;
  options.clock = [&] { return now; };
  Meter meter(table, options);
  with_tenant(context_for("acme", "alice"), [&](auto scope) {
    REQUIRE(meter.record(scope, UsageEvent{"chat", "m1", 100, 10, 2, 1, 3, 0, 250ms}).ok());
    REQUIRE(meter.record(scope, UsageEvent{"search", "m2", 3, 1, 5, 0, 0, 4, std::nullopt}).ok());
    now += 1h;
    REQUIRE(meter.record(scope, UsageEvent{"chat", "m1", 50, 5, 0, 0, 0, 1, 2s}).ok());
    auto all = scope.view(meter.totals(scope));
    CHECK(all.requests == 3);
    CHECK(all.input_tokens == 153);
    CHECK(all.output_tokens == 16);
    CHECK(all.retrieval_calls == 7);
    CHECK(all.tool_calls == 1);
    CHECK(all.agent_steps == 3);
    CHECK(all.cache_hits == 5);
    CHECK(all.cost == (100 + 20) + (8 + 10) + (50 + 10));  // m2: ceil(3·2.5)=8, 1·10
    CHECK(all.ttft_count == 2);
    CHECK(all.ttft_sum_us == 2'250'000);
    auto chat = scope.view(meter.totals(scope, UsageFilter{std::nullopt, "chat", std::nullopt, std::nullopt, std::nullopt}));
    CHECK(chat.input_tokens == 150);
    const auto ten = std::chrono::sys_days{std::chrono::year{2026} / 11 / 22} + 10h;
    auto first_hour = scope.view(meter.totals(scope, UsageFilter{{}, {}, {}, ten, ten + 1h}));
    CHECK(first_hour.requests == 2);
    auto json = scope.release(meter.to_json(scope));
    CHECK(json["tenant"] == "acme");
    REQUIRE(json["series"].size() == 3);
    CHECK(json["series"][0]["hour"] == "2026-11-22T10:00:00Z");
    CHECK(json["series"][0]["day"] == "2026-11-22");
    CHECK(json["series"][0]["actor"] == "alice");
    CHECK(json["series"][0]["model_tier"] == "small");
    return 0;
  });
}

TEST_CASE("unpriced models and malformed events are refused and not recorded", "[metering][meter]") {
  PriceTable table;
  add_prices(table);
  Meter meter(table);
  with_tenant(context_for("acme"), [&](auto scope) {
    auto st = meter.record(scope, ev("chat", "mystery-model", 1, 1));
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code() == ErrorCode::NotFound);
    CHECK(meter.record(scope, ev("", "m1", 1, 1)).error().code() == ErrorCode::InvalidArgument);
    CHECK(meter.record(scope, ev("chat", "m1", -1, 1)).error().code() == ErrorCode::InvalidArgument);
    CHECK(scope.view(meter.totals(scope)).requests == 0);
    return 0;
  });
}

TEST_CASE("a tenant-scoped export shows only that tenant's series, also under concurrent load",
          "[metering][meter][isolation][concurrency]") {
  PriceTable table;
  add_prices(table);
  Meter meter(table);
  constexpr int kTenants = 6;
  std::vector<TenantContext> contexts;
  for (int i = 0; i < kTenants; ++i) {
    contexts.push_back(context_for("meter-tenant-" + std::to_string(i), "actor-canary-" + std::to_string(i)));
  }
  std::atomic<int> failures{0}, crossings{0}, exports{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kTenants; ++i) {
    threads.emplace_back([&, i] {
      with_tenant(contexts[i], [&](auto scope) {
        for (int k = 0; k < 300; ++k) {
          // Catch2 assertions are not thread-safe: count problems, assert after join.
          if (!meter.record(scope, ev("feature-canary-" + std::to_string(i), "m1", i + 1, 1)).ok()) ++failures;
          if (k % 50 == 0) {
            // Exports interleaved with other tenants' writes never contain another tenant's canary.
            const std::string text = scope.release(meter.prometheus(scope));
            if (text.find("canary-" + std::to_string(i) + "\"") != std::string::npos) ++exports;
            for (int j = 0; j < kTenants; ++j) {
              if (j == i) continue;
              if (text.find("canary-" + std::to_string(j) + "\"") != std::string::npos) ++crossings;
              if (text.find("meter-tenant-" + std::to_string(j) + "\"") != std::string::npos) ++crossings;
            }
          }
        }
        return 0;
      });
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(crossings == 0);
  CHECK(exports == kTenants * 6);  // every export held its own tenant's series
  for (int i = 0; i < kTenants; ++i) {
    with_tenant(contexts[i], [&](auto scope) {
      auto totals = scope.view(meter.totals(scope));
      CHECK(totals.requests == 300);
      CHECK(totals.input_tokens == 300 * (i + 1));  // exactly its own canary-sized events
      auto json = scope.release(meter.to_json(scope));
      REQUIRE(json["series"].size() == 1);
      CHECK(json["series"][0]["actor"] == "actor-canary-" + std::to_string(i));
      return 0;
    });
  }
}

TEST_CASE("the all-tenant export needs a SystemScope and records a visit per tenant", "[metering][meter]") {
  PriceTable table;
  add_prices(table);
  Meter meter(table);
  for (const char* t : {"acme", "globex", "initech"}) {
    with_tenant(context_for(t), [&](auto scope) { return meter.record(scope, ev("chat", "m1", 1, 1)).ok(); });
  }
  InMemoryAccessRecorder recorder;
  SystemScope system(recorder, "prometheus-scraper", "operator metrics scrape");
  const std::string text = meter.prometheus(system);
  for (const char* t : {"acme", "globex", "initech"}) {
    CHECK(text.find(std::string("tenant=\"") + t + "\"") != std::string::npos);
    CHECK(recorder.records_for(TenantId(t)).size() == 1);
  }
  // Each family is one group even with several tenants: its TYPE line appears exactly once.
  std::size_t pos = 0, types = 0;
  while ((pos = text.find("# TYPE tenantai_input_tokens_total", pos)) != std::string::npos) {
    ++types;
    ++pos;
  }
  CHECK(types == 1);
}
