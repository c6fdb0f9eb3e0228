// Meter: per-tenant usage (per actor, feature, model, hour) with cost from the price table,
// exported as JSON and as Prometheus text exposition with a `tenant` label. A tenant-scoped
// export shows only that tenant's series; the all-tenant export needs a SystemScope.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "tenantai/core/error.h"
#include "tenantai/core/scope.h"
#include "tenantai/core/system_scope.h"
#include "tenantai/core/tenant_partitions.h"
#include "tenantai/metering/price_table.h"

namespace tenantai::metering {

// One metered operation (usually one model call). The actor comes from the scope's context.
struct UsageEvent {
  std::string feature;                  // product feature, e.g. "chat" (non-empty, ≤ 128 bytes)
  std::string model;                    // must be in the price table (fail closed)
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t retrieval_calls = 0;
  std::int64_t tool_calls = 0;
  std::int64_t agent_steps = 0;
  std::int64_t cache_hits = 0;
  std::optional<std::chrono::microseconds> time_to_first_token;
};

// Summed usage of a set of series.
struct UsageTotals {
  std::int64_t requests = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t retrieval_calls = 0;
  std::int64_t tool_calls = 0;
  std::int64_t agent_steps = 0;
  std::int64_t cache_hits = 0;
  Micros cost = 0;
  std::int64_t ttft_count = 0;
  std::int64_t ttft_sum_us = 0;
  // Per-bucket (non-cumulative) TTFT counts for Meter::kTtftBucketsSeconds, last = +Inf.
  std::array<std::int64_t, 10> ttft_buckets{};
};

// Which series to sum (empty / nullopt = all).
struct UsageFilter {
  std::optional<std::string> actor;
  std::optional<std::string> feature;
  std::optional<std::string> model;
  std::optional<std::chrono::system_clock::time_point> from;  // inclusive, by hour bucket
  std::optional<std::chrono::system_clock::time_point> to;    // exclusive, by hour bucket
};

struct MeterOptions {
  // UTC wall clock for hour/day buckets; injectable for tests.
  std::function<std::chrono::system_clock::time_point()> clock = [] { return std::chrono::system_clock::now(); };
};

// Thread-safe (one mutex per tenant partition). The price table must outlive the meter.
class Meter {
 public:
  // Upper bounds of the time-to-first-token histogram, in seconds (+Inf implied).
  static constexpr std::array<double, 9> kTtftBucketsSeconds = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

  explicit Meter(const PriceTable& prices, MeterOptions options = {});

  // Adds one event for the scope's tenant and actor in the current hour bucket. Nothing is
  // recorded on error: NotFound (unpriced model: cost unknown, fail closed), InvalidArgument
  // (empty/oversize feature, negative counts).
  template <typename Tag>
  Status record(const TenantScope<Tag>& scope, const UsageEvent& event) {
    auto priced = validate(event);
    if (!priced) return priced.error();
    record_into(*ledgers_.get_or_create(scope), scope.context().actor(), event, *priced);
    return {};
  }

  // Sum of the scope tenant's series matching `filter`.
  template <typename Tag>
  Scoped<UsageTotals, Tag> totals(const TenantScope<Tag>& scope, const UsageFilter& filter = {}) const {
    return scope.bind(totals_of(rows_of(ledgers_.find(scope).get()), filter));
  }

  // The scope tenant's series as JSON: {"tenant":..., "series":[{actor, feature, model,
  // model_tier, hour (ISO-8601 UTC), day, counters..., cost_micros, ttft{...}}]}.
  template <typename Tag>
  Scoped<nlohmann::json, Tag> to_json(const TenantScope<Tag>& scope) const {
    return scope.bind(json_of(scope.tenant(), rows_of(ledgers_.find(scope).get())));
  }

  // Prometheus text exposition (format 0.0.4) of the scope tenant's series only.
  template <typename Tag>
  Scoped<std::string, Tag> prometheus(const TenantScope<Tag>& scope) const {
    std::vector<TenantRows> all;
    all.emplace_back(scope.tenant(), rows_of(ledgers_.find(scope).get()));
    return scope.bind(prometheus_of(all));
  }

  // Prometheus text of every tenant (operator scrape). Each tenant is visited, and so
  // recorded, through `system`; its visit limit applies (RateLimited past it).
  std::string prometheus(SystemScope& system) const;

 private:
  struct SeriesKey {
    std::string actor;
    std::string feature;
    std::string model;
    std::int64_t hour = 0;  // hours since the Unix epoch (UTC)
    friend auto operator<=>(const SeriesKey&, const SeriesKey&) = default;
  };
  struct Series {
    UsageTotals totals;
    std::string model_tier;
  };
  struct Ledger {
    mutable std::mutex mutex;
    std::map<SeriesKey, Series> series;
  };
  using Rows = std::vector<std::pair<SeriesKey, Series>>;
  using TenantRows = std::pair<TenantId, Rows>;

  Result<ModelPrice> validate(const UsageEvent& event) const;
  void record_into(Ledger& ledger, const std::string& actor, const UsageEvent& event, const ModelPrice& price) const;
  static Rows rows_of(const Ledger* ledger);
  static UsageTotals totals_of(const Rows& rows, const UsageFilter& filter);
  static nlohmann::json json_of(const TenantId& tenant, const Rows& rows);
  static std::string prometheus_of(const std::vector<TenantRows>& tenants);

  const PriceTable& prices_;
  MeterOptions options_;
  mutable TenantPartitions<Ledger> ledgers_;
};

}  // namespace tenantai::metering
