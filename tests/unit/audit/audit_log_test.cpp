#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <thread>

#include "audit_fixture.h"
#include "support/error_code.h"

using namespace audit_test;
using tenantai::test_support::code_of;
using tenantai::test_support::context_for;

namespace {

std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::vector<AuditRecord> read_all(AuditLog& log, const TenantContext& ctx) {
  return with_tenant(ctx, [&](auto scope) { return scope.release(log.read(scope, 0, 1u << 20)); });
}

// The log API takes a scope, never a tenant name.
template <typename L>
concept reads_by_id = requires(L& l) { l.read(TenantId("a"), 0, 1); };
static_assert(!reads_by_id<AuditLog>);

}  // namespace

AUDIT_TEST_ON_BOTH_STORAGES(ReadsBackOwnEvents, "A tenant reads back its own events, opened from sealed bodies") {
  append_n(*log, a, 5, "canary-a");
  const auto records = read_all(*log, a);
  REQUIRE(records.size() == 5);
  for (std::size_t i = 0; i < records.size(); ++i) {
    CHECK(records[i].index == i);
    CHECK(records[i].sealed);
    REQUIRE(records[i].event);
    CHECK(records[i].event->target == "canary-a-" + std::to_string(i));
    CHECK(records[i].event->actor == a.actor());
    CHECK(records[i].event->request_id == a.request_id());
  }
  // Sealed at rest: the canary is not in the file, yet the log verifies without the tenant key.
  with_tenant(a, [&](auto scope) { (void)log->checkpoint(scope); });
  CHECK(stored_records(TenantId("tenant-a")).find("canary-a") == std::string::npos);
  CHECK(stored_records(TenantId("tenant-a")).find("model-x") == std::string::npos);
  auto report = verify(TenantId("tenant-a"));
  REQUIRE(report.ok());
  CHECK(report->events == 5);
}

AUDIT_TEST_ON_BOTH_STORAGES(ViewIsolation, "A's view never lists B's events, also under concurrent appends",
                            "[concurrency]") {
  const std::vector<std::string> tenants = {"iso-one", "iso-two", "iso-three", "iso-four"};
  std::vector<TenantContext> contexts;
  for (const auto& t : tenants) contexts.push_back(context_for(t));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < tenants.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        append_n(*log, contexts[i], 150, "canary-" + tenants[i]);
      } catch (...) {
        failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(failures.load() == 0);
  for (std::size_t i = 0; i < tenants.size(); ++i) {
    const auto records = read_all(*log, contexts[i]);
    std::size_t mine = 0;
    for (const auto& r : records) {
      REQUIRE(r.event);
      for (std::size_t j = 0; j < tenants.size(); ++j) {
        if (j != i) CHECK(r.event->target.find("canary-" + tenants[j] + "-") == std::string::npos);
      }
      mine += r.event->target.rfind("canary-" + tenants[i] + "-", 0) == 0 ? 1 : 0;
    }
    CHECK(mine == 150);
    with_tenant(contexts[i], [&](auto scope) { (void)log->checkpoint(scope); });
    CHECK(verify(TenantId(tenants[i])).ok());
  }
}

AUDIT_TEST_ON_BOTH_STORAGES(KeyAccessRecorded, "Key unwraps, decrypts and destruction are recorded in the tenant's own log") {
  append_n(*log, a, 1, "first");  // seals with a fresh key (wrap, no unwrap)
  // A second sealer instance (another process) must unwrap, and that lands in A's log.
  crypto::EnvelopeSealer other(*keys, root() / "keyrings", &key_observer);
  const std::string box = other.seal(a, "doc", "d1", "secret");
  CHECK(*other.open(a, "doc", "d1", box) == "secret");
  const auto records = read_all(*log, a);
  std::size_t unwraps = 0;
  std::size_t decrypts = 0;
  for (const auto& r : records) {
    REQUIRE(r.event);
    unwraps += r.event->operation == Operation::KeyUnwrap ? 1 : 0;
    if (r.event->operation == Operation::Decrypt) {
      ++decrypts;
      CHECK(r.event->target == "doc/d1");
    }
  }
  CHECK(unwraps == 1);
  CHECK(decrypts == 1);
  CHECK(read_all(*log, b).empty());

  // Crypto-shredding: A's sealed audit bodies become unreadable, the destruction itself is kept
  // in clear, and the log still verifies; B's log is untouched.
  append_n(*log, b, 2, "canary-b");
  sealer->destroy(context_for("tenant-a", "admin", {}, {"admin:keys"}));
  const auto after = read_all(*log, a);
  REQUIRE(after.size() == records.size() + 1);
  for (std::size_t i = 0; i + 1 < after.size(); ++i) CHECK_FALSE(after[i].event.has_value());
  REQUIRE(after.back().event);
  CHECK(after.back().event->operation == Operation::KeyDestroy);
  CHECK_FALSE(after.back().sealed);
  const auto b_records = read_all(*log, b);
  REQUIRE(b_records.size() == 2);
  CHECK(b_records[1].event->target == "canary-b-1");
  with_tenant(a, [&](auto scope) { (void)log->checkpoint(scope); });
  CHECK(verify(TenantId("tenant-a")).ok());
}

AUDIT_TEST_ON_BOTH_STORAGES(OperatorViews, "Operators see redacted records; full reads need the tenant's grant and are audited") {
  append_n(*log, a, 3, "canary-a");
  AuditAccessRecorder recorder(*log);
  SystemScope support(recorder, "ops-alice", "support ticket investigation", {.ticket = "T-1"});

  const auto redacted = log->operator_read(support, TenantId("tenant-a"), 0, 3);
  REQUIRE(redacted.size() == 3);
  for (const auto& r : redacted) {
    CHECK(r.sealed);
    CHECK_FALSE(r.operation.has_value());
    CHECK(r.status.empty());
  }
  CHECK(code_of([&] { log->operator_read_full(support, TenantId("tenant-a"), 0, 3); }) == ErrorCode::PermissionDenied);

  const auto user = context_for("tenant-a", "someone");
  const auto admin = context_for("tenant-a", "admin", {}, {"admin:audit"});
  CHECK(code_of([&] {
          with_tenant(user, [&](auto scope) {
            log->grant_operator_access(scope, "ops-alice", std::chrono::system_clock::now() + std::chrono::hours(1));
          });
        }) == ErrorCode::PermissionDenied);
  with_tenant(admin, [&](auto scope) {
    log->grant_operator_access(scope, "ops-alice", std::chrono::system_clock::now() + std::chrono::hours(1));
  });
  const auto full = log->operator_read_full(support, TenantId("tenant-a"), 0, 3);
  REQUIRE(full.size() == 3);
  CHECK(full[0].event->target == "canary-a-0");
  // A grant for A says nothing about B.
  append_n(*log, b, 1, "canary-b");
  CHECK(code_of([&] { log->operator_read_full(support, TenantId("tenant-b"), 0, 1); }) == ErrorCode::PermissionDenied);

  // The tenant sees every operator visit and read in its own log.
  std::size_t visits = 0;
  std::size_t reads = 0;
  for (const auto& r : read_all(*log, a)) {
    if (r.event && r.event->operation == Operation::OperatorAccess) {
      (r.event->target == "tenant" ? visits : reads)++;
      CHECK(r.event->actor == "system:ops-alice");
    }
  }
  CHECK(visits == 3);  // one per SystemScope visit into A
  CHECK(reads == 3);   // redacted, denied full, granted full

  with_tenant(admin, [&](auto scope) { log->revoke_operator_access(scope, "ops-alice"); });
  CHECK(code_of([&] { log->operator_read_full(support, TenantId("tenant-a"), 0, 3); }) == ErrorCode::PermissionDenied);
}

TEST_CASE("A torn tail is cut back to the last complete record on open") {
  AuditFixture f(false);
  append_n(*f.log, f.a, 10, "t");
  with_tenant(f.a, [&](auto scope) { (void)f.log->checkpoint(scope); });
  append_n(*f.log, f.a, 2, "after");
  const auto path = f.log->log_path(TenantId("tenant-a"));
  f.log.reset();
  const auto full = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, full - 7);  // crash in the middle of the last record
  AuditLogOptions opts;
  opts.signer = &f.signer;
  AuditLog reopened(f.root() / "audit", opts);
  with_tenant(f.a, [&](auto scope) {
    CHECK(reopened.size(scope) == 11);
    CHECK(scope.release(reopened.append(scope, AuditEvent{.operation = Operation::Write})) == 11);
    (void)reopened.checkpoint(scope);
  });
  CHECK(verify_log(f.root() / "audit", TenantId("tenant-a"), f.verifier()).ok());

  // A zero-filled tail (file extended by the crash) is torn too.
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << std::string(100, '\0');
  }
  AuditLog again(f.root() / "audit", opts);
  with_tenant(f.a, [&](auto scope) { CHECK(again.size(scope) == 12); });
}

TEST_CASE("A log altered under its checkpoint is refused on open, naming the record") {
  const auto kind = GENERATE(StorageKind::File, StorageKind::Memory);
  INFO(name_of(kind));
  AuditFixture f(false, {}, kind);
  append_n(*f.log, f.a, 20, "t");
  with_tenant(f.a, [&](auto scope) { (void)f.log->checkpoint(scope); });
  f.log.reset();
  f.edit_records(TenantId("tenant-a"), [](std::vector<std::string>& frames) {
    const auto pos = frames[7].find("t-7");
    REQUIRE(pos != std::string::npos);
    frames[7][pos + 2] = '8';  // one flipped byte in the stored record
  });
  auto report = f.verify(TenantId("tenant-a"));
  REQUIRE_FALSE(report.ok());
  CHECK(report.error().code() == ErrorCode::Tampered);
  CHECK_THAT(report.error().message(), Catch::Contains("first bad index 7:"));
  f.reopen();
  try {
    with_tenant(f.a, [&](auto scope) { (void)f.log->append(scope, AuditEvent{}); });
    FAIL("a tampered log must not accept appends");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::Tampered);
    CHECK_THAT(e.message(), Catch::Contains("first bad index 7"));
  }
  // Other tenants keep working.
  append_n(*f.log, f.b, 1, "fine");
}

TEST_CASE("Retention prunes old bodies but keeps hashes, so checkpoints and proofs still verify") {
  auto now = std::chrono::system_clock::now();
  AuditLogOptions opts;
  opts.clock = [&] { return now; };
  opts.retention = [](const TenantId& t) {
    return t.str() == "tenant-a" ? std::optional<std::chrono::hours>(24 * 365 * 7) : std::nullopt;
  };
  const auto kind = GENERATE(StorageKind::File, StorageKind::Memory);
  INFO(name_of(kind));
  AuditFixture f(true, opts, kind);
  now -= std::chrono::hours(24 * 365 * 8);  // eight years ago
  append_n(*f.log, f.a, 4, "old");
  append_n(*f.log, f.b, 4, "old");
  const auto old_cp = with_tenant(f.a, [&](auto scope) { return scope.release(f.log->checkpoint(scope)); });
  const auto old_proof = with_tenant(f.a, [&](auto scope) { return scope.release(f.log->prove_inclusion(scope, 1, 4)); });
  now += std::chrono::hours(24 * 365 * 8);
  append_n(*f.log, f.a, 2, "new");
  const auto pruned = with_tenant(f.a, [&](auto scope) { return f.log->prune(scope); });
  CHECK(pruned == 4);
  CHECK(with_tenant(f.b, [&](auto scope) { return f.log->prune(scope); }) == 0);  // no retention for B

  const auto records = read_all(*f.log, f.a);
  REQUIRE(records.size() == 7);  // 4 pruned + 2 new + the Erase event
  for (int i = 0; i < 4; ++i) {
    CHECK(records[static_cast<std::size_t>(i)].pruned);
    CHECK_FALSE(records[static_cast<std::size_t>(i)].event.has_value());
  }
  CHECK(records[4].event->target == "new-0");
  CHECK(records[6].event->operation == Operation::Erase);

  const auto cp = with_tenant(f.a, [&](auto scope) { return scope.release(f.log->checkpoint(scope)); });
  auto consistency = with_tenant(f.a, [&](auto scope) { return scope.release(f.log->prove_consistency(scope, 4, cp.size)); });
  CHECK(verify_consistency(4, cp.size, old_cp.root, cp.root, consistency.path));
  CHECK(verify_inclusion(old_proof.leaf, 1, 4, old_proof.path, old_cp.root));
  auto report = f.verify(TenantId("tenant-a"));
  REQUIRE(report.ok());
  CHECK(report->pruned == 4);
  // The pruned log reopens and keeps its checkpoints.
  f.reopen();
  CHECK(with_tenant(f.a, [&](auto scope) { return f.log->size(scope); }) == 7);
}

AUDIT_TEST_ON_BOTH_STORAGES(ExportBundle, "An export bundle verifies offline, proves every index and is itself audited") {
  append_n(*log, a, 40, "canary-a");
  append_n(*log, b, 5, "canary-b");
  const auto bundle_path = root() / "a.bundle.jsonl";
  const auto cp = with_tenant(a, [&](auto scope) {
    FileSink sink(bundle_path);
    return scope.release(log->export_bundle(scope, sink));
  });
  CHECK(cp.size == 40);
  const std::string bundle = file_bytes(bundle_path);
  CHECK(bundle.find("canary-b") == std::string::npos);
  CHECK(bundle.find("\"gen_ai.request.model\":\"model-x\"") != std::string::npos);
  auto report = verify_bundle(bundle, TenantId("tenant-a"), verifier());
  REQUIRE(report.ok());
  CHECK(report->events == 40);
  // The same bundle presented as B's is refused; so is an unsigned edit.
  CHECK(verify_bundle(bundle, TenantId("tenant-b"), verifier()).error().code() == ErrorCode::IsolationViolation);
  const auto records = read_all(*log, a);
  CHECK(records.back().event->operation == Operation::Export);
  // FileSink refuses to overwrite a bundle.
  CHECK(code_of([&] { FileSink again(bundle_path); }) == ErrorCode::AlreadyExists);
}
