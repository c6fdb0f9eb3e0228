// Operator scrapes are not event storms: /metrics visits every tenant with usage, and identical
// scrapes within a period are one audit record per tenant (the first at once, the count in the
// next period's record), while any other visit is recorded as before. Time is moved by hand.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "support/api_server.h"
#include "support/manual_time_source.h"
#include "support/test_auth.h"

using namespace tenantai;
using tenantai::test_support::fixed_secret;

namespace {

using Server = test_support::ApiServer;

// The OperatorAccess events of `tenant`'s log by `operator_id`, oldest first (read as the tenant).
std::vector<audit::AuditEvent> visits_by(Server& s, const std::string& tenant, const std::string& operator_id) {
  auto context = s.platform->authenticator().authenticate(fixed_secret(tenant + "Admin")).value();
  auto records = with_tenant(context, [&](auto scope) {
    return scope.release(s.platform->audit().read(scope, 0, s.platform->audit().size(scope)));
  });
  std::vector<audit::AuditEvent> out;
  for (const auto& r : records) {
    if (r.event && r.event->operation == audit::Operation::OperatorAccess && r.event->actor == "system:" + operator_id) {
      out.push_back(*r.event);
    }
  }
  return out;
}

void use_both_tenants(Server& s) {
  for (const std::string tenant : {"alpha", "beta"}) {
    auto r = s.call(fixed_secret(tenant + "Viewer"), "POST", "/v1/chat",
                    {{"messages", {{{"role", "user"}, {"content", "hello"}}}}, {"max_tokens", 16}});
    REQUIRE(r.status == 200);
  }
}

void scrape(Server& s, int times) {
  for (int i = 0; i < times; ++i) REQUIRE(s.call("op-token", "GET", "/metrics").status == 200);
}

test_support::ApiServerOptions with_clock(std::shared_ptr<const TimeSource> clock, std::filesystem::path data_dir = {}) {
  test_support::ApiServerOptions options;
  options.clock = std::move(clock);
  options.data_dir = std::move(data_dir);
  return options;
}

bool mentions(const audit::AuditEvent& e, const std::string& text) { return e.detail.find(text) != std::string::npos; }

}  // namespace

TEST_CASE("metrics audit: 100 scrapes in a period are one record per tenant; the next period's carries the count",
          "[server][metrics_audit]") {
  auto clock = std::make_shared<test_support::ManualTimeSource>();
  Server s(with_clock(clock));
  use_both_tenants(s);
  scrape(s, 100);
  for (const std::string tenant : {"alpha", "beta"}) {
    INFO(tenant);
    auto visits = visits_by(s, tenant, "metrics-scraper");
    REQUIRE(visits.size() == 1);
    CHECK(mentions(visits[0], "Prometheus scrape of per-tenant usage counters"));
  }
  clock->advance(std::chrono::minutes(61));
  scrape(s, 1);
  for (const std::string tenant : {"alpha", "beta"}) {
    INFO(tenant);
    auto visits = visits_by(s, tenant, "metrics-scraper");
    REQUIRE(visits.size() == 2);
    INFO(visits[1].detail);
    CHECK(mentions(visits[1], "previous period: 100 visits in ["));
    CHECK_FALSE(mentions(visits[0], "visits in ["));
  }
}

TEST_CASE("metrics audit: another operator, another reason or an unhinted visit is recorded on its own",
          "[server][metrics_audit]") {
  auto clock = std::make_shared<test_support::ManualTimeSource>();
  Server s(with_clock(clock));
  use_both_tenants(s);
  scrape(s, 3);
  SystemScopeOptions hinted;
  hinted.coalesce_within = std::chrono::hours(1);
  auto other_operator = s.platform->system_scope("other-scraper", "Prometheus scrape of per-tenant usage counters", hinted);
  other_operator.visit(TenantId("alpha"), [](auto) {});
  other_operator.visit(TenantId("alpha"), [](auto) {});
  auto other_reason = s.platform->system_scope("metrics-scraper", "capacity review of usage counters", hinted);
  other_reason.visit(TenantId("alpha"), [](auto) {});
  auto unhinted = s.platform->system_scope("metrics-scraper", "Prometheus scrape of per-tenant usage counters");
  unhinted.visit(TenantId("alpha"), [](auto) {});
  unhinted.visit(TenantId("alpha"), [](auto) {});

  CHECK(visits_by(s, "alpha", "other-scraper").size() == 1);  // its own period, coalesced in it
  auto scraper = visits_by(s, "alpha", "metrics-scraper");
  // The scrapes' one record, the other reason's one, and both unhinted visits.
  REQUIRE(scraper.size() == 4);
  CHECK(mentions(scraper[1], "capacity review of usage counters"));
  CHECK(scraper[2].detail == "reason: Prometheus scrape of per-tenant usage counters");  // as before
  CHECK(scraper[3].detail == "reason: Prometheus scrape of per-tenant usage counters");
  CHECK(visits_by(s, "beta", "metrics-scraper").size() == 1);
  CHECK(visits_by(s, "beta", "other-scraper").empty());
}

TEST_CASE("metrics audit: a period 0 records every scrape, as before", "[server][metrics_audit]") {
  auto options = with_clock(nullptr);
  options.metrics_audit_period = std::chrono::milliseconds(0);
  Server s(options);
  use_both_tenants(s);
  scrape(s, 5);
  CHECK(visits_by(s, "alpha", "metrics-scraper").size() == 5);
}

TEST_CASE("metrics audit: the count of a period cut short by a shutdown is recorded and survives the restart",
          "[server][metrics_audit]") {
  test_support::TempDir dir;
  const auto data_dir = std::filesystem::path(dir.path()) / "data";
  auto clock = std::make_shared<test_support::ManualTimeSource>();
  {
    Server s(with_clock(clock, data_dir));
    use_both_tenants(s);
    scrape(s, 7);
  }
  Server restarted(with_clock(clock, data_dir));
  for (const std::string tenant : {"alpha", "beta"}) {
    INFO(tenant);
    auto visits = visits_by(restarted, tenant, "metrics-scraper");
    REQUIRE(visits.size() == 2);
    INFO(visits[1].detail);
    CHECK(mentions(visits[1], "summary: 7 visits in ["));
  }
}
