#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <tenantai/core.h>

#include <atomic>
#include <thread>

using namespace tenantai;

TEST_CASE("SystemScope records every tenant it visits, before the visit", "[core][system_scope]") {
  InMemoryAccessRecorder recorder;
  SystemScopeOptions options;
  options.ticket = "OPS-42";
  SystemScope sys(recorder, "oncall@vendor", "retention sweep", options);
  CHECK(sys.reason() == "retention sweep");

  std::vector<std::string> seen;
  for (const char* t : {"acme", "globex", "acme"}) {
    sys.visit(TenantId(t), [&](auto scope) {
      CHECK(recorder.records().back().tenant == scope.tenant());  // recorded first
      CHECK(scope.context().is_system());
      CHECK(scope.context().actor() == "system:oncall@vendor");
      CHECK(scope.context().has_capability("system"));
      seen.push_back(scope.tenant().str());
      return 0;
    });
  }
  CHECK(seen == std::vector<std::string>{"acme", "globex", "acme"});
  REQUIRE(recorder.size() == 3);
  auto acme = recorder.records_for(TenantId("acme"));
  REQUIRE(acme.size() == 2);
  CHECK(acme[0].reason == "retention sweep");
  CHECK(acme[0].operator_id == "oncall@vendor");
  CHECK(acme[0].ticket == "OPS-42");
  CHECK(acme[0].request_id != acme[1].request_id);
  CHECK(recorder.records_for(TenantId("initech")).empty());
}

TEST_CASE("SystemScope is rate-limited per scope", "[core][system_scope]") {
  InMemoryAccessRecorder recorder;
  SystemScopeOptions options;
  options.max_visits = 2;
  SystemScope sys(recorder, "batch-job", "migration v2", options);
  sys.visit(TenantId("a1"), [](auto) { return 0; });
  sys.visit(TenantId("a2"), [](auto) { return 0; });
  try {
    sys.visit(TenantId("a3"), [](auto) { return 0; });
    FAIL("visit past the limit was allowed");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::RateLimited);
  }
  CHECK(recorder.size() == 2);  // the refused visit left no record and did not run
}

TEST_CASE("SystemScope fails closed when recording fails", "[core][system_scope]") {
  struct Broken : AccessRecorder {
    void record(const AccessRecord&) override { throw Error(ErrorCode::StorageFailure, "audit disk full"); }
  } broken;
  SystemScope sys(broken, "ops", "support case 991");
  bool ran = false;
  CHECK_THROWS_AS(sys.visit(TenantId("acme"), [&](auto) { ran = true; return 0; }), Error);
  CHECK_FALSE(ran);
}

TEST_CASE("SystemScope needs an operator", "[core][system_scope]") {
  InMemoryAccessRecorder recorder;
  CHECK_THROWS_AS(SystemScope(recorder, "", "reason"), Error);
}

TEST_CASE("SystemScope visits are thread-safe and all recorded", "[core][system_scope][concurrency]") {
  InMemoryAccessRecorder recorder;
  SystemScopeOptions options;
  options.max_visits = 100000;
  SystemScope sys(recorder, "ops", "load test", options);
  std::atomic<int> ran{0};
  std::vector<TenantId> tenants;
  for (int i = 0; i < 110; ++i) tenants.push_back(TenantId(fmt::format("t{}", i)));
  auto worker = [&](int base) {
    for (int i = 0; i < 500; ++i) {
      sys.visit(tenants[static_cast<std::size_t>(base + i % 10)], [&](auto) { return ++ran; });
    }
  };
  std::thread a(worker, 0), b(worker, 100);
  a.join();
  b.join();
  CHECK(ran == 1000);
  CHECK(recorder.size() == 1000);
  CHECK(sys.visits() == 1000);
}
