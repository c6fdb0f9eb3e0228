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

namespace {

// The stream entries up to the last one of `size` (its cosigned copy included): the stored
// state of the log when that checkpoint was published.
std::uint64_t entries_through(AuditFixture& f, std::uint64_t size) {
  const auto notes = f.storage->open(TenantId("tenant-a"), OpenMode::ReadOnly)->read_checkpoints().notes;
  std::uint64_t keep = 0;
  for (std::uint64_t i = 0; i < notes.size(); ++i) {
    if (notes[i].find("\n" + std::to_string(size) + "\n") != std::string::npos) keep = i + 1;
  }
  REQUIRE(keep > 0);
  return keep;
}

}  // namespace

TEST_CASE("Witnessed log: it signs nothing before its witnesses' start-up check, then publishes what its quorum cosigned", "[concurrency]") {
  Witnessed w(2);
  w.w1.unplugged = true;
  w.w2.unplugged = true;
  append_n(*w.fixture.log, w.fixture.a, 20, "event");  // appends go on; no checkpoint is signed meanwhile
  CHECK(code_of([&] { with_tenant(w.fixture.a, [&](auto scope) { (void)w.fixture.log->checkpoint(scope); }); }) ==
        ErrorCode::Unavailable);
  CHECK(w.fixture.storage->open(TenantId("tenant-a"), OpenMode::ReadOnly)->read_checkpoints().notes.empty());
  w.w1.unplugged = false;
  w.w2.unplugged = false;
  REQUIRE(w.publish());
  const Checkpoint cp = w.published();
  CHECK(cp.size == 20);  // the start-up check covered everything the log held
  CHECK(verify_cosignatures(cp.note, w.witness_keys(), 2).ok());
  CHECK(w.w1.service.latest(origin_for(TenantId("tenant-a"))).find("\n20\n") != std::string::npos);
  // From then on the log signs, and each new checkpoint is published.
  append_n(*w.fixture.log, w.fixture.a, 12, "more");
  const Checkpoint signed_now = with_tenant(w.fixture.a, [&](auto scope) { return scope.release(w.fixture.log->checkpoint(scope)); });
  REQUIRE(w.publish());
  CHECK(w.published().size == signed_now.size);
  CHECK(signed_now.size == 32);
  // Unwitnessed tenant-b has nothing published, and never waits for a witness.
  append_n(*w.fixture.log, w.fixture.b, 3, "b");
  CHECK(code_of([&] { with_tenant(w.fixture.b, [&](auto scope) { (void)w.fixture.log->published_checkpoint(scope); }); }) ==
        ErrorCode::NotFound);
  w.fixture.reopen();
  REQUIRE(w.publish());  // the start-up check: both witnesses still agree
  CHECK(w.published().size == 32);
  auto verified = w.fixture.verify(TenantId("tenant-a"));  // cosigned entries are ordinary checkpoints
  INFO((verified ? "" : verified.error().message()));
  CHECK(verified.ok());
}

TEST_CASE("Witnessed log: rolled back behind the witnesses' backs, it is Tampered at start-up and never published again", "[concurrency]") {
  Witnessed w(2);
  append_n(*w.fixture.log, w.fixture.a, 8, "event");
  REQUIRE(w.publish());
  const std::uint64_t first = w.published().size;  // the witnesses hold this size
  append_n(*w.fixture.log, w.fixture.a, 16, "later");
  with_tenant(w.fixture.a, [&](auto scope) { (void)w.fixture.log->checkpoint(scope); });
  REQUIRE(w.publish());
  const std::uint64_t second = w.published().size;
  REQUIRE(second > first);
  w.fixture.log.reset();
  // Cut records and checkpoints back to the first published checkpoint: a valid, older log,
  // indistinguishable from the disk alone.
  {
    const auto keep = entries_through(w.fixture, first);
    auto streams = w.fixture.storage->open(TenantId("tenant-a"), OpenMode::ReadWrite);
    streams->truncate_records(first);
    streams->truncate_checkpoints(keep);
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
  CHECK_THAT(message, Catch::Contains("first bad index " + std::to_string(first) + ":"));
  CHECK(w.tampered_tenant() == "tenant-a");
  CHECK(code_of([&] { append_n(*w.fixture.log, w.fixture.a, 1, "x"); }) == ErrorCode::Tampered);
  append_n(*w.fixture.log, w.fixture.b, 3, "b-serves");  // the other tenant is not affected
}

TEST_CASE("Witnessed log: a forked history of the witnessed size is refused by the witnesses and Tampered", "[concurrency]") {
  Witnessed w(1);
  append_n(*w.fixture.log, w.fixture.a, 8, "event");
  REQUIRE(w.publish());  // witnessed at size 8
  REQUIRE(w.published().size == 8);
  w.fixture.log.reset();
  // An insider with the signing key writes a different history and signs it.
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
  // Caught either way: while the forged log is shorter than what was witnessed it is a rollback;
  // at the witnessed size with another root, a fork.
  INFO(message);
  CHECK((message.find("fork or rewritten history") != std::string::npos ||
         message.find("rolled back") != std::string::npos));
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
    append_n(*w.fixture.log, w.fixture.a, 20, "event");  // appends continue; signing waits
    CHECK_FALSE(w.publish());
    CHECK(code_of([&] { (void)w.published(); }) == ErrorCode::NotFound);
    w.w2.unplugged = false;
    // The background thread retries every 50 ms; publish_now also submits at once.
    REQUIRE(w.publish());
    CHECK(w.published().size == 20);
    CHECK(verify_cosignatures(w.published().note, w.witness_keys(), 2).ok());
  }
}
