// Format versions of the audit files: unknown versions are refused naming the file, files of
// the previous release (format 0, no header) still open and verify, and a file renamed to
// another tenant is refused.
#include <catch2/catch.hpp>

#include <fstream>

#include "core/durable_file.h"
#include "audit_fixture.h"
#include "support/error_code.h"

using namespace audit_test;
using tenantai::test_support::code_of;

namespace {


void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

constexpr std::string_view kLogMagic = "\x89TAUDIT\n";
constexpr std::string_view kCheckpointsMagic = "tenantai.audit.checkpoints ";

// The error the tenant's log reports on its first use.
Error first_use_error(AuditLog& log, const TenantContext& ctx) {
  try {
    with_tenant(ctx, [&](auto scope) { (void)log.append(scope, AuditEvent{}); });
  } catch (const Error& e) {
    return e;
  }
  FAIL("the log accepted an append");
  return Error(ErrorCode::Internal, "unreachable");
}

// A tenant-a log with 6 records and a checkpoint, closed.
void write_log(AuditFixture& f) {
  append_n(*f.log, f.a, 6, "v");
  with_tenant(f.a, [&](auto scope) { (void)f.log->checkpoint(scope); });
  f.log.reset();
}

}  // namespace

TEST_CASE("New audit files start with a header naming the format version and the tenant") {
  AuditFixture f(false);
  write_log(f);
  const std::string log = tenantai::detail::read_file(f.root() / "audit" / "tenant-a.log");
  REQUIRE(log.substr(0, kLogMagic.size()) == kLogMagic);
  CHECK(log[8] == 1);  // format version 1, u16le
  CHECK(log[9] == 0);
  CHECK(log.substr(12, 8) == "tenant-a");
  CHECK(tenantai::detail::read_file(f.root() / "audit" / "tenant-a.checkpoints").rfind("tenantai.audit.checkpoints 1 tenant-a\nnote ", 0) == 0);
}

TEST_CASE("An audit file of an unknown format version is refused, naming the file and the versions read") {
  AuditFixture f(false);
  write_log(f);
  const auto log_path = f.root() / "audit" / "tenant-a.log";
  const auto cp_path = f.root() / "audit" / "tenant-a.checkpoints";
  const std::string log = tenantai::detail::read_file(log_path);
  const std::string cps = tenantai::detail::read_file(cp_path);

  SECTION("log file") {
    std::string newer = log;
    newer[8] = 7;
    write_bytes(log_path, newer);
    f.reopen();
    const Error e = first_use_error(*f.log, f.a);
    CHECK(e.code() == ErrorCode::StorageFailure);
    CHECK_THAT(e.message(), Catch::Contains(log_path.string()) && Catch::Contains("format version 7") &&
                                Catch::Contains("reads versions 0 to 1"));
    auto report = verify_log(f.root() / "audit", TenantId("tenant-a"), f.verifier());
    REQUIRE_FALSE(report.ok());
    CHECK(report.error().code() == ErrorCode::StorageFailure);
    CHECK_THAT(report.error().message(), Catch::Contains(log_path.string()));
    CHECK(tenantai::detail::read_file(log_path) == newer);  // refused, not rewritten
  }
  SECTION("checkpoints file") {
    std::string newer = cps;
    newer.replace(kCheckpointsMagic.size(), 1, "12");
    write_bytes(cp_path, newer);
    f.reopen();
    const Error e = first_use_error(*f.log, f.a);
    CHECK(e.code() == ErrorCode::StorageFailure);
    CHECK_THAT(e.message(), Catch::Contains(cp_path.string()) && Catch::Contains("format version 12"));
    CHECK(verify_log(f.root() / "audit", TenantId("tenant-a"), f.verifier()).error().code() == ErrorCode::StorageFailure);
    CHECK(tenantai::detail::read_file(cp_path) == newer);
  }
  // Other tenants keep working.
  append_n(*f.log, f.b, 1, "fine");
}

TEST_CASE("A format-0 log of the previous release verifies as it is and is upgraded on open without changing a leaf") {
  AuditFixture f(true);
  write_log(f);
  const auto log_path = f.root() / "audit" / "tenant-a.log";
  const auto cp_path = f.root() / "audit" / "tenant-a.checkpoints";
  // The previous release wrote the same records and notes without the headers.
  const std::string log = tenantai::detail::read_file(log_path);
  const std::string cps = tenantai::detail::read_file(cp_path);
  const std::string v0_log = log.substr(12 + 8);
  const std::string v0_cps = cps.substr(cps.find('\n') + 1);
  REQUIRE(v0_log[0] == 'E');
  REQUIRE(v0_cps.rfind("note ", 0) == 0);
  write_bytes(log_path, v0_log);
  write_bytes(cp_path, v0_cps);

  // Offline verification reads format 0 and never writes.
  auto report = verify_log(f.root() / "audit", TenantId("tenant-a"), f.verifier());
  REQUIRE(report.ok());
  CHECK(report->events == 6);
  CHECK(tenantai::detail::read_file(log_path) == v0_log);
  CHECK(tenantai::detail::read_file(cp_path) == v0_cps);
  const Checkpoint old_cp = report->latest;

  // The log opens it, upgrades both files in place (headers in front, bytes unchanged), and the
  // old signed checkpoint still covers the same tree.
  f.reopen();
  with_tenant(f.a, [&](auto scope) {
    CHECK(f.log->size(scope) == 6);
    CHECK(scope.view(f.log->latest_checkpoint(scope)).note == old_cp.note);
    CHECK(scope.release(f.log->read(scope, 0, 10)).size() == 6);
  });
  CHECK(tenantai::detail::read_file(log_path) == log);
  CHECK(tenantai::detail::read_file(cp_path) == cps);
  append_n(*f.log, f.a, 2, "after");
  const Checkpoint cp = with_tenant(f.a, [&](auto scope) { return scope.release(f.log->checkpoint(scope)); });
  const auto proof = with_tenant(f.a, [&](auto scope) { return scope.release(f.log->prove_consistency(scope, 6, cp.size)); });
  CHECK(verify_consistency(6, cp.size, old_cp.root, cp.root, proof.path));
  CHECK(f.verify(TenantId("tenant-a")).ok());
}

TEST_CASE("A log renamed to another tenant's name is refused, naming the file") {
  AuditFixture f(false);
  write_log(f);
  const auto dir = f.root() / "audit";
  SECTION("both files copied under a new tenant's name") {
    std::filesystem::copy_file(dir / "tenant-a.log", dir / "tenant-c.log");
    std::filesystem::copy_file(dir / "tenant-a.checkpoints", dir / "tenant-c.checkpoints");
  }
  SECTION("only the log copied over an empty tenant") {
    std::filesystem::copy_file(dir / "tenant-a.log", dir / "tenant-c.log");
  }
  f.reopen();
  const Error e = first_use_error(*f.log, test_support::context_for("tenant-c"));
  CHECK(e.code() == ErrorCode::IsolationViolation);
  CHECK_THAT(e.message(), Catch::Contains((dir / "tenant-c.log").string()) && Catch::Contains("tenant \"tenant-a\""));
  auto report = verify_log(dir, TenantId("tenant-c"), f.verifier());
  REQUIRE_FALSE(report.ok());
  CHECK(report.error().code() == ErrorCode::IsolationViolation);
  // The checkpoints alone, copied over another tenant's.
  append_n(*f.log, f.b, 2, "b");
  with_tenant(f.b, [&](auto scope) { (void)f.log->checkpoint(scope); });
  f.log.reset();
  std::filesystem::copy_file(dir / "tenant-a.checkpoints", dir / "tenant-b.checkpoints",
                             std::filesystem::copy_options::overwrite_existing);
  f.reopen();
  const Error cp_error = first_use_error(*f.log, f.b);
  CHECK(cp_error.code() == ErrorCode::IsolationViolation);
  CHECK_THAT(cp_error.message(), Catch::Contains((dir / "tenant-b.checkpoints").string()));
}

TEST_CASE("A sealed record body carries the sealer's envelope format id") {
  AuditFixture f(true);
  append_n(*f.log, f.a, 3, "sealed");
  for (const std::string& frame : split_frames(f.stored_records(TenantId("tenant-a")))) {
    // payload: format, flags, index u64, time i64, event id u64, tenant_len u16, tenant, body_len u32, body
    const std::size_t body = 5 + 1 + 1 + 8 + 8 + 8 + 2 + std::string("tenant-a").size() + 4;
    CHECK(frame[5] == 1);         // record format 1
    CHECK((frame[6] & 1) == 1);   // sealed
    CHECK(frame.substr(body, 3) == "TS1");  // EnvelopeSealer format 1: XChaCha20-Poly1305
  }
}
