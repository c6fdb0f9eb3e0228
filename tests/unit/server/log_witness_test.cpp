// The log side of witnessing: an AuditLog submits its checkpoints to real witnesses
// (WitnessService behind HttpServer on loopback, reached through make_http_witness), publishes
// the cosigned note once its quorum answered, and when it reopens asks the witnesses first: a
// log rolled back or forked behind the witnesses' backs is Tampered for that tenant, never
// published again, while a witness outage only delays publication.
#include <catch2/catch.hpp>
#include <tenantai/server/http_server.h>
#include <tenantai/server/http_witness.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "unit/audit/audit_fixture.h"
#include "support/error_code.h"

using namespace audit_test;
using tenantai::test_support::code_of;
using tenantai::test_support::TempDir;

namespace {

// A witness on loopback; `unplugged` answers 503 (an outage) without touching its state.
struct LocalWitness {
  LocalWitness(const std::string& name, const std::string& log_key)
      : service(CosignatureSigner::generate(name), {{origin_for(TenantId("tenant-a")), log_key}},
                std::filesystem::path(dir.path()) / "state") {
    server.route("POST", "/add-checkpoint", [this](const server::HttpRequest& request) {
      server::HttpResponse response;
      if (unplugged) {
        response.status = 503;
        response.body = "down for maintenance\n";
        return response;
      }
      auto r = service.add_checkpoint(request.body);
      response.status = r.status;
      response.content_type = r.content_type;
      response.body = r.body;
      return response;
    });
    server.start();
  }
  std::shared_ptr<Witness> client() {
    return server::make_http_witness({.port = server.port(), .timeout = std::chrono::milliseconds(2000),
                              .verifier_key = service.signer().verifier_key()});
  }
  TempDir dir;
  WitnessService service;
  std::atomic<bool> unplugged{false};
  server::HttpServer server;
};

// An audit fixture whose tenant-a log is witnessed by two local witnesses with `quorum`;
// tenant-b is unwitnessed.
struct Witnessed {
  explicit Witnessed(std::size_t quorum) : quorum_(quorum), fixture(false, options()) {}
  ~Witnessed() { fixture.log.reset(); }  // stops the witness thread before the witnesses go

  AuditLogOptions options() {
    AuditLogOptions opts;
    opts.checkpoint_every_events = 8;
    opts.witness_retry = std::chrono::milliseconds(50);
    opts.witnesses_for = [this](const TenantId& tenant) {
      WitnessPolicy policy;
      if (tenant.str() != "tenant-a") return policy;
      policy.witnesses = {w1.client(), w2.client()};
      policy.quorum = quorum_;
      return policy;
    };
    opts.on_tampered = [this](const TenantId& tenant, const Error&) {
      std::lock_guard lock(tampered_mutex);
      tampered = tenant.str();
    };
    return opts;
  }
  bool publish() {
    return with_tenant(fixture.a, [&](auto scope) { return fixture.log->publish_now(scope); });
  }
  Checkpoint published() {
    return with_tenant(fixture.a, [&](auto scope) { return scope.release(fixture.log->published_checkpoint(scope)); });
  }
  std::vector<CosignatureVerifier> witness_keys() {
    return {CosignatureVerifier::parse(w1.service.signer().verifier_key()).value(),
            CosignatureVerifier::parse(w2.service.signer().verifier_key()).value()};
  }

  // The tenant on_tampered named; it is called from the witness thread, possibly after the
  // test thread already saw the log refuse, so tests wait for it.
  std::string tampered_tenant() {
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard lock(tampered_mutex);
        if (!tampered.empty()) return tampered;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return {};
  }

  std::size_t quorum_;
  std::mutex tampered_mutex;
  std::string tampered;
  // Tenant logs open on first use, so the witnesses (which must know the log's key) can be
  // built after the fixture; the policy reaches them only then.
  AuditFixture fixture;
  LocalWitness w1{"witness.test/w1", fixture.signer.verifier_key()};
  LocalWitness w2{"witness.test/w2", fixture.signer.verifier_key()};
};

}  // namespace

TEST_CASE("Witnessed log: a checkpoint is published once its quorum cosigned, and stays published after a restart", "[concurrency]") {
  Witnessed w(2);
  append_n(*w.fixture.log, w.fixture.a, 20, "event");
  REQUIRE(w.publish());
  const Checkpoint cp = w.published();
  CHECK(cp.size == 16);  // the last checkpoint signed (every 8 events)
  CHECK(verify_cosignatures(cp.note, w.witness_keys(), 2).ok());
  CHECK(w.w1.service.latest(origin_for(TenantId("tenant-a"))).find("\n16\n") != std::string::npos);
  // Unwitnessed tenant-b has nothing published, and never waits for a witness.
  append_n(*w.fixture.log, w.fixture.b, 3, "b");
  CHECK(code_of([&] { with_tenant(w.fixture.b, [&](auto scope) { (void)w.fixture.log->published_checkpoint(scope); }); }) ==
        ErrorCode::NotFound);
  w.fixture.reopen();
  REQUIRE(w.publish());  // the start-up check: both witnesses still agree
  CHECK(w.published().size >= 16);
  CHECK(w.fixture.verify(TenantId("tenant-a")).ok());  // cosigned entries are ordinary checkpoints
}

TEST_CASE("Witnessed log: rolled back behind the witnesses' backs, it is Tampered at start-up and never published again", "[concurrency]") {
  Witnessed w(2);
  append_n(*w.fixture.log, w.fixture.a, 8, "event");
  REQUIRE(w.publish());  // the witnesses hold size 8
  append_n(*w.fixture.log, w.fixture.a, 16, "later");
  REQUIRE(w.publish());  // ... and now size 24
  w.fixture.log.reset();
  // Cut records and checkpoints back to the first checkpoint and its cosigned entry: a valid,
  // older log, indistinguishable from the disk alone.
  {
    auto streams = w.fixture.storage->open(TenantId("tenant-a"), OpenMode::ReadWrite);
    streams->truncate_records(8);
    streams->truncate_checkpoints(2);
  }
  CHECK(w.fixture.verify(TenantId("tenant-a")).ok());
  w.fixture.reopen();
  std::string message;
  try {
    w.publish();
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::Tampered);
    message = e.message();
  }
  CHECK_THAT(message, Catch::Contains("tenant-a"));
  CHECK_THAT(message, Catch::Contains("rolled back"));
  CHECK_THAT(message, Catch::Contains("first bad index 8:"));
  CHECK(w.tampered_tenant() == "tenant-a");
  CHECK(code_of([&] { append_n(*w.fixture.log, w.fixture.a, 1, "x"); }) == ErrorCode::Tampered);
  append_n(*w.fixture.log, w.fixture.b, 3, "b-serves");  // the other tenant is not affected
}

TEST_CASE("Witnessed log: a forked history of the witnessed size is refused by the witnesses and Tampered", "[concurrency]") {
  Witnessed w(1);
  append_n(*w.fixture.log, w.fixture.a, 8, "event");
  REQUIRE(w.publish());  // witnessed at size 8
  w.fixture.log.reset();
  // An insider with the signing key writes a different history of the same size and signs it.
  w.fixture.storage->erase(TenantId("tenant-a"));
  w.fixture.reopen();
  append_n(*w.fixture.log, w.fixture.a, 8, "forked");
  std::string message;
  try {
    w.publish();
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::Tampered);
    message = e.message();
  }
  CHECK_THAT(message, Catch::Contains("fork or rewritten history"));
  CHECK(w.tampered_tenant() == "tenant-a");
}

TEST_CASE("Witnessed log: a witness outage is survived per the policy", "[concurrency]") {
  SECTION("1 of 2: one witness down, the other's cosignature publishes") {
    Witnessed w(1);
      w.w2.unplugged = true;
    append_n(*w.fixture.log, w.fixture.a, 8, "event");
    REQUIRE(w.publish());
    CHECK(verify_cosignatures(w.published().note, w.witness_keys(), 1).ok());
    CHECK_FALSE(verify_cosignatures(w.published().note, w.witness_keys(), 2).ok());
  }
  SECTION("2 of 2: appends go on, publication waits and resumes when the witness is back") {
    Witnessed w(2);
      w.w2.unplugged = true;
    append_n(*w.fixture.log, w.fixture.a, 20, "event");  // appends and local checkpoints continue
    CHECK_FALSE(w.publish());
    CHECK(code_of([&] { (void)w.published(); }) == ErrorCode::NotFound);
    w.w2.unplugged = false;
    // The background thread retries every 50 ms; publish_now also submits at once.
    REQUIRE(w.publish());
    CHECK(w.published().size == 16);
    CHECK(verify_cosignatures(w.published().note, w.witness_keys(), 2).ok());
  }
}
