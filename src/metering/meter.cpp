#include "tenantai/metering/meter.h"

#include <fmt/format.h>

#include <tuple>

namespace tenantai::metering {
namespace {

constexpr std::size_t kMaxLabelBytes = 128;

std::string iso_hour(std::int64_t hour) {
  using namespace std::chrono;
  const sys_time<hours> tp{hours(hour)};
  const auto day = floor<days>(tp);
  const year_month_day ymd{day};
  const auto h = duration_cast<hours>(tp - day).count();
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:00:00Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), h);
}

// Label values per the text format: backslash, double quote and line feed are escaped.
std::string escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void add(UsageTotals& into, const UsageTotals& from) {
  into.requests += from.requests;
  into.input_tokens += from.input_tokens;
  into.output_tokens += from.output_tokens;
  into.retrieval_calls += from.retrieval_calls;
  into.tool_calls += from.tool_calls;
  into.agent_steps += from.agent_steps;
  into.cache_hits += from.cache_hits;
  into.cost += from.cost;
  into.ttft_count += from.ttft_count;
  into.ttft_sum_us += from.ttft_sum_us;
  for (std::size_t i = 0; i < into.ttft_buckets.size(); ++i) into.ttft_buckets[i] += from.ttft_buckets[i];
}

std::int64_t hour_of(std::chrono::system_clock::time_point t) {
  return std::chrono::floor<std::chrono::hours>(t).time_since_epoch().count();
}

}  // namespace

Meter::Meter(const PriceTable& prices, MeterOptions options) : prices_(prices), options_(std::move(options)) {
  if (!options_.clock) throw Error(ErrorCode::InvalidArgument, "MeterOptions::clock must be set");
}

Result<ModelPrice> Meter::validate(const UsageEvent& e) const {
  if (e.feature.empty() || e.feature.size() > kMaxLabelBytes) {
    return Error(ErrorCode::InvalidArgument, "usage feature must be 1..128 bytes");
  }
  if (e.input_tokens < 0 || e.output_tokens < 0 || e.retrieval_calls < 0 || e.tool_calls < 0 ||
      e.agent_steps < 0 || e.cache_hits < 0 || (e.time_to_first_token && e.time_to_first_token->count() < 0)) {
    return Error(ErrorCode::InvalidArgument, "usage counts must not be negative");
  }
  auto price = prices_.find(e.model);
  if (!price) return price.error();
  try {
    (void)cost_of(e.input_tokens, price->input_per_million);
    (void)cost_of(e.output_tokens, price->output_per_million);
  } catch (const Error& err) {
    return err;
  }
  return price;
}

void Meter::record_into(Ledger& ledger, const std::string& actor, const UsageEvent& e, const ModelPrice& price) const {
  UsageTotals delta;
  delta.requests = 1;
  delta.input_tokens = e.input_tokens;
  delta.output_tokens = e.output_tokens;
  delta.retrieval_calls = e.retrieval_calls;
  delta.tool_calls = e.tool_calls;
  delta.agent_steps = e.agent_steps;
  delta.cache_hits = e.cache_hits;
  delta.cost = cost_of(e.input_tokens, price.input_per_million) + cost_of(e.output_tokens, price.output_per_million);
  if (e.time_to_first_token) {
    const auto us = e.time_to_first_token->count();
    delta.ttft_count = 1;
    delta.ttft_sum_us = us;
    std::size_t bucket = kTtftBucketsSeconds.size();  // +Inf
    for (std::size_t i = 0; i < kTtftBucketsSeconds.size(); ++i) {
      if (static_cast<double>(us) <= kTtftBucketsSeconds[i] * 1e6) {
        bucket = i;
        break;
      }
    }
    delta.ttft_buckets[bucket] = 1;
  }
  SeriesKey key{actor, e.feature, e.model, hour_of(options_.clock())};
  std::lock_guard lock(ledger.mutex);
  Series& s = ledger.series[std::move(key)];
  s.model_tier = price.tier;
  add(s.totals, delta);
}

Meter::Rows Meter::rows_of(const Ledger* ledger) {
  if (ledger == nullptr) return {};
  std::lock_guard lock(ledger->mutex);
  return Rows(ledger->series.begin(), ledger->series.end());
}

UsageTotals Meter::totals_of(const Rows& rows, const UsageFilter& f) {
  UsageTotals out;
  const auto from = f.from ? std::optional<std::int64_t>(hour_of(*f.from)) : std::nullopt;
  const auto to = f.to ? std::optional<std::int64_t>(hour_of(*f.to)) : std::nullopt;
  for (const auto& [key, series] : rows) {
    if (f.actor && key.actor != *f.actor) continue;
    if (f.feature && key.feature != *f.feature) continue;
    if (f.model && key.model != *f.model) continue;
    if (from && key.hour < *from) continue;
    if (to && key.hour >= *to) continue;
    add(out, series.totals);
  }
  return out;
}

nlohmann::json Meter::json_of(const TenantId& tenant, const Rows& rows) {
  nlohmann::json series = nlohmann::json::array();
  for (const auto& [key, s] : rows) {
    const UsageTotals& t = s.totals;
    nlohmann::json buckets = nlohmann::json::array();
    for (std::size_t i = 0; i < t.ttft_buckets.size(); ++i) {
      buckets.push_back({{"le", i < kTtftBucketsSeconds.size() ? nlohmann::json(kTtftBucketsSeconds[i])
                                                                : nlohmann::json("+Inf")},
                         {"count", t.ttft_buckets[i]}});
    }
    const std::string hour = iso_hour(key.hour);
    series.push_back({{"actor", key.actor},
                      {"feature", key.feature},
                      {"model", key.model},
                      {"model_tier", s.model_tier},
                      {"hour", hour},
                      {"day", hour.substr(0, 10)},
                      {"requests", t.requests},
                      {"input_tokens", t.input_tokens},
                      {"output_tokens", t.output_tokens},
                      {"retrieval_calls", t.retrieval_calls},
                      {"tool_calls", t.tool_calls},
                      {"agent_steps", t.agent_steps},
                      {"cache_hits", t.cache_hits},
                      {"cost_micros", t.cost},
                      {"ttft", {{"count", t.ttft_count}, {"sum_us", t.ttft_sum_us}, {"buckets", buckets}}}});
  }
  return {{"tenant", tenant.str()}, {"series", series}};
}

std::string Meter::prometheus_of(const std::vector<TenantRows>& tenants) {
  // Aggregate each tenant's hour buckets into (actor, feature, model) series: the time axis
  // belongs to Prometheus.
  struct Agg {
    TenantId tenant;
    std::string labels;  // rendered label set without braces
    UsageTotals totals;
  };
  std::vector<Agg> aggs;
  for (const auto& [tenant, rows] : tenants) {
    std::map<std::tuple<std::string, std::string, std::string>, std::pair<UsageTotals, std::string>> by_series;
    for (const auto& [key, s] : rows) {
      auto& slot = by_series[{key.actor, key.feature, key.model}];
      add(slot.first, s.totals);
      slot.second = s.model_tier;
    }
    for (const auto& [k, v] : by_series) {
      std::string labels = fmt::format("tenant=\"{}\",actor=\"{}\",feature=\"{}\",model=\"{}\",model_tier=\"{}\"",
                                       escape_label(tenant.str()), escape_label(std::get<0>(k)),
                                       escape_label(std::get<1>(k)), escape_label(std::get<2>(k)),
                                       escape_label(v.second));
      aggs.push_back(Agg{tenant, std::move(labels), v.first});
    }
  }

  struct Family {
    const char* name;
    const char* help;
    std::int64_t UsageTotals::*field;
  };
  static const Family kCounters[] = {
      {"tenantai_requests_total", "Metered operations.", &UsageTotals::requests},
      {"tenantai_input_tokens_total", "Input (prompt) tokens.", &UsageTotals::input_tokens},
      {"tenantai_output_tokens_total", "Output (completion) tokens.", &UsageTotals::output_tokens},
      {"tenantai_retrieval_calls_total", "Retrieval calls.", &UsageTotals::retrieval_calls},
      {"tenantai_tool_calls_total", "Tool calls.", &UsageTotals::tool_calls},
      {"tenantai_agent_steps_total", "Agent steps.", &UsageTotals::agent_steps},
      {"tenantai_cache_hits_total", "Cache hits.", &UsageTotals::cache_hits},
      {"tenantai_cost_micros_total", "Cost in micro-units of the billing currency.", &UsageTotals::cost},
  };
  std::string out;
  for (const Family& f : kCounters) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", f.name, f.help, f.name);
    for (const Agg& a : aggs) out += fmt::format("{}{{{}}} {}\n", f.name, a.labels, a.totals.*(f.field));
  }
  constexpr const char* kHist = "tenantai_time_to_first_token_seconds";
  out += fmt::format("# HELP {} Time to first token.\n# TYPE {} histogram\n", kHist, kHist);
  for (const Agg& a : aggs) {
    std::int64_t cumulative = 0;
    for (std::size_t i = 0; i < a.totals.ttft_buckets.size(); ++i) {
      cumulative += a.totals.ttft_buckets[i];
      const std::string le = i < kTtftBucketsSeconds.size() ? fmt::format("{}", kTtftBucketsSeconds[i]) : "+Inf";
      out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", kHist, a.labels, le, cumulative);
    }
    out += fmt::format("{}_sum{{{}}} {}\n", kHist, a.labels, static_cast<double>(a.totals.ttft_sum_us) / 1e6);
    out += fmt::format("{}_count{{{}}} {}\n", kHist, a.labels, a.totals.ttft_count);
  }
  return out;
}

std::string Meter::prometheus(SystemScope& system) const {
  std::vector<TenantRows> all;
  for (const TenantId& tenant : ledgers_.tenants(system)) {
    Rows rows = system.visit(tenant, [&](auto scope) { return rows_of(ledgers_.find(scope).get()); });
    all.emplace_back(tenant, std::move(rows));
  }
  return prometheus_of(all);
}

}  // namespace tenantai::metering
