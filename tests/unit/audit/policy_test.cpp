// Checkpoint policy, fail-closed recorders and a rewrite that recomputes leaf hashes.
#include <catch2/catch.hpp>

#include <fstream>

#include "audit_fixture.h"
#include "support/error_code.h"

using namespace audit_test;
using tenantai::test_support::code_of;

namespace {
std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}
}  // namespace

TEST_CASE("A checkpoint is signed every N events and every record is on disk when it is") {
  AuditLogOptions opts;
  opts.checkpoint_every_events = 4;
  opts.checkpoint_every = std::chrono::hours(1);
  const auto kind = GENERATE(StorageKind::File, StorageKind::Memory);
  INFO(name_of(kind));
  AuditFixture f(false, opts, kind);
  append_n(*f.log, f.a, 10, "x");
  const auto cp = with_tenant(f.a, [&](auto scope) { return scope.release(f.log->latest_checkpoint(scope)); });
  CHECK(cp.size == 8);
  // What the checkpoint covers is stored now, without closing the log.
  auto report = f.verify(TenantId("tenant-a"));
  REQUIRE(report.ok());
  CHECK(report->checkpoints == 2);
  CHECK(report->latest.size == 8);
  CHECK(code_of([&] { with_tenant(f.b, [&](auto scope) { (void)f.log->latest_checkpoint(scope); }); }) ==
        ErrorCode::NotFound);
}

TEST_CASE("fsync_every_event writes each record before append returns") {
  AuditLogOptions opts;
  opts.fsync_every_event = true;
  AuditFixture f(false, opts);
  append_n(*f.log, f.a, 3, "durable");
  const std::string bytes = file_bytes(f.log->log_path(TenantId("tenant-a")));
  CHECK(bytes.find("durable-2") != std::string::npos);
}

TEST_CASE("A SystemScope visit does not run when its audit record cannot be written") {
  const auto kind = GENERATE(StorageKind::File, StorageKind::Memory);
  INFO(name_of(kind));
  AuditFixture f(false, {}, kind);
  append_n(*f.log, f.a, 5, "x");
  with_tenant(f.a, [&](auto scope) { (void)f.log->checkpoint(scope); });
  f.log.reset();
  f.edit_records(TenantId("tenant-a"), [](std::vector<std::string>& frames) {
    std::string& frame = frames[2];
    frame[frame.size() / 2] = static_cast<char>(frame[frame.size() / 2] ^ 1);
  });
  f.reopen();
  AuditLog& reopened = *f.log;
  AuditAccessRecorder recorder(reopened);
  SystemScope support(recorder, "ops-bob", "retention sweep");
  bool ran = false;
  CHECK(code_of([&] { support.visit(TenantId("tenant-a"), [&](auto) { ran = true; }); }) == ErrorCode::Tampered);
  CHECK_FALSE(ran);
  support.visit(TenantId("tenant-b"), [&](auto) { ran = true; });  // B's log is fine
  CHECK(ran);
}

TEST_CASE("Unaudited key use is refused when the key observer has no log") {
  test_support::TempDir dir;
  crypto::LocalKeyProvider keys(std::filesystem::path(dir.path()) / "keys");
  AuditKeyAccessObserver detached;
  crypto::EnvelopeSealer sealer(keys, std::filesystem::path(dir.path()) / "keyrings", &detached);
  const auto ctx = test_support::context_for("tenant-a");
  const std::string box = sealer.seal(ctx, "doc", "d", "x");  // wrap only: nothing to report
  CHECK(code_of([&] { (void)sealer.open(ctx, "doc", "d", box); }) == ErrorCode::Internal);
}

TEST_CASE("Rewriting a record with a recomputed leaf hash is caught by the signed root") {
  AuditLogOptions opts;
  opts.checkpoint_every_events = 8;
  const auto kind = GENERATE(StorageKind::File, StorageKind::Memory);
  INFO(name_of(kind));
  AuditFixture f(false, opts, kind);
  append_n(*f.log, f.a, 32, "event");
  f.log.reset();
  // Change record 13's target "event-13" and fix that record's stored leaf hash the way a
  // careful attacker would (the format is public).
  f.edit_records(TenantId("tenant-a"), [](std::vector<std::string>& frames) {
    std::string& frame = frames[13];
    const auto pos = frame.find("event-13");
    REQUIRE(pos != std::string::npos);
    frame[pos + 7] = '4';  // "event-14": a plausible lie
    reforge(frame);        // body digest and leaf recomputed
  });
  auto report = f.verify(TenantId("tenant-a"));
  REQUIRE_FALSE(report.ok());
  CHECK(report.error().code() == ErrorCode::Tampered);
  // Located to the checkpoint interval: records before 8 matched the size-8 checkpoint.
  CHECK_THAT(report.error().message(), Catch::Contains("first bad index 8:"));
}
