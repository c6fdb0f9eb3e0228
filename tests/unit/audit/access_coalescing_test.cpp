// AuditAccessRecorder's coalescing of routine visits (SystemScopeOptions::coalesce_within), on
// its own: fail closed for the first visit of a period, per-key periods, flush and destruction.
#include <catch2/catch.hpp>
#include <tenantai/audit.h>
#include <tenantai/core.h>

#include <filesystem>
#include <fstream>

#include "support/manual_time_source.h"
#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::audit;

namespace {

std::vector<AuditEvent> access_events(AuditLog& log, const std::string& tenant) {
  auto ctx = test_support::context_for(tenant);
  auto records = with_tenant(ctx, [&](auto scope) { return scope.release(log.read(scope, 0, log.size(scope))); });
  std::vector<AuditEvent> out;
  for (const auto& r : records) {
    if (r.event && r.event->operation == Operation::OperatorAccess) out.push_back(*r.event);
  }
  return out;
}

// A log in a temporary directory and a clock the test moves.
struct Fixture {
  test_support::TempDir dir;
  CheckpointSigner signer = CheckpointSigner::generate();
  std::unique_ptr<AuditLog> log;
  std::shared_ptr<test_support::ManualTimeSource> clock = std::make_shared<test_support::ManualTimeSource>();
  Fixture() {
    AuditLogOptions options;
    options.signer = &signer;
    log = std::make_unique<AuditLog>(std::filesystem::path(dir.path()) / "audit", options);
  }
};

SystemScopeOptions hinted() {
  SystemScopeOptions o;
  o.coalesce_within = std::chrono::hours(1);
  return o;
}

}  // namespace

TEST_CASE("coalesced access: a period's first visit is in the log before it runs, else the visit fails", "[audit][coalesce]") {
  Fixture f;
  AuditLog& log = *f.log;
  auto clock = f.clock;
  {
    AuditAccessRecorder recorder(log, clock);
    std::ofstream(log.log_path(TenantId("broken")), std::ios::binary) << "not an audit log";
    SystemScope scope(recorder, "metrics-scraper", "Prometheus scrape of per-tenant usage counters", hinted());
    int ran = 0;
    for (int i = 0; i < 3; ++i) CHECK_THROWS(scope.visit(TenantId("broken"), [&](auto) { ++ran; }));
    CHECK(ran == 0);  // never counted as if recorded

    for (int i = 0; i < 5; ++i) scope.visit(TenantId("fine"), [&](auto) { ++ran; });
    CHECK(ran == 5);
    CHECK(access_events(log, "fine").size() == 1);
    recorder.flush();
    auto events = access_events(log, "fine");
    REQUIRE(events.size() == 2);
    CHECK(events[1].detail.find("summary: 5 visits in [") != std::string::npos);
    recorder.flush();  // nothing pending
    CHECK(access_events(log, "fine").size() == 2);
    // After a flush the next identical visit opens a new period, recorded at once.
    scope.visit(TenantId("fine"), [](auto) {});
    scope.visit(TenantId("fine"), [](auto) {});
    CHECK(access_events(log, "fine").size() == 3);
  }
  // Destruction flushed the second period's count.
  auto events = access_events(log, "fine");
  REQUIRE(events.size() == 4);
  CHECK(events[3].detail.find("summary: 2 visits in [") != std::string::npos);
}

TEST_CASE("coalesced access: periods are per tenant, operator, reason and ticket, timed by the recorder's clock",
          "[audit][coalesce]") {
  Fixture f;
  AuditLog& log = *f.log;
  auto clock = f.clock;
  AuditAccessRecorder recorder(log, clock);
  SystemScope a(recorder, "scraper-a", "routine scrape", hinted());
  SystemScope b(recorder, "scraper-b", "routine scrape", hinted());
  auto ticketed = hinted();
  ticketed.ticket = "CHG-1";
  SystemScope a_ticket(recorder, "scraper-a", "routine scrape", ticketed);
  SystemScope plain(recorder, "scraper-a", "routine scrape");
  for (int i = 0; i < 4; ++i) {
    a.visit(TenantId("t1"), [](auto) {});
    a.visit(TenantId("t2"), [](auto) {});
    b.visit(TenantId("t1"), [](auto) {});
    a_ticket.visit(TenantId("t1"), [](auto) {});
  }
  plain.visit(TenantId("t1"), [](auto) {});
  CHECK(access_events(log, "t1").size() == 4);  // a, b, a with a ticket, and the plain visit
  CHECK(access_events(log, "t2").size() == 1);
  clock->advance(std::chrono::minutes(59));
  a.visit(TenantId("t1"), [](auto) {});
  CHECK(access_events(log, "t1").size() == 4);  // still in the period
  clock->advance(std::chrono::minutes(2));
  a.visit(TenantId("t1"), [](auto) {});
  auto events = access_events(log, "t1");
  REQUIRE(events.size() == 5);
  CHECK(events[4].actor == "system:scraper-a");
  CHECK(events[4].detail.find("previous period: 5 visits in [") != std::string::npos);
}
