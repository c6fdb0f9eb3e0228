// Operator grants are facts of the tenant's own log (finding 3 of the adversarial review): a
// grant file written by whoever holds the disk is not a grant, and a grant survives a restart
// because the log, not a side file, says so.
#include <catch2/catch.hpp>

#include <fstream>

#include "audit_fixture.h"
#include "support/error_code.h"

using namespace audit_test;
using tenantai::test_support::code_of;
using tenantai::test_support::context_for;

namespace {

void grant(AuditLog& log, const TenantContext& admin, const std::string& operator_id) {
  with_tenant(admin, [&](auto scope) {
    log.grant_operator_access(scope, operator_id, std::chrono::system_clock::now() + std::chrono::hours(1));
  });
}

}  // namespace

TEST_CASE_METHOD(AuditFixture, "A hand-written grants file is not honoured after a restart") {
  append_n(*log, a, 3, "canary-a");
  with_tenant(a, [&](auto scope) { (void)log->checkpoint(scope); });
  {
    std::ofstream out(root() / "audit" / "tenant-a.grants");
    out << "ops-mallory 99999999999999\n";
  }
  reopen();
  AuditAccessRecorder recorder(*log);
  SystemScope system(recorder, "ops-mallory", "support investigation");
  CHECK(code_of([&] { log->operator_read_full(system, TenantId("tenant-a"), 0, 3); }) == ErrorCode::PermissionDenied);
}

AUDIT_TEST_ON_BOTH_STORAGES(GrantSurvivesRestart, "A grant recorded in the log survives a restart, and so does its revocation") {
  append_n(*log, a, 3, "canary-a");
  const auto admin = context_for("tenant-a", "admin", {}, {"admin:audit"});
  grant(*log, admin, "ops-alice");
  reopen();
  {
    AuditAccessRecorder recorder(*log);
    SystemScope system(recorder, "ops-alice", "support investigation");
    const auto records = log->operator_read_full(system, TenantId("tenant-a"), 0, 3);
    REQUIRE(records.size() == 3);
    CHECK(records[0].event->target == "canary-a-0");
    with_tenant(admin, [&](auto scope) { log->revoke_operator_access(scope, "ops-alice"); });
  }
  reopen();
  AuditAccessRecorder recorder(*log);
  SystemScope system(recorder, "ops-alice", "support investigation");
  CHECK(code_of([&] { log->operator_read_full(system, TenantId("tenant-a"), 0, 3); }) == ErrorCode::PermissionDenied);
  // The grant, the revocation and every read are in the tenant's log.
  std::vector<Operation> seen;
  for (const auto& r : with_tenant(a, [&](auto scope) { return scope.release(log->read(scope, 0, 1000)); })) {
    if (r.event) seen.push_back(r.event->operation);
  }
  CHECK(std::count(seen.begin(), seen.end(), Operation::GrantOperatorAccess) == 1);
  CHECK(std::count(seen.begin(), seen.end(), Operation::RevokeOperatorAccess) == 1);
}

AUDIT_TEST_ON_BOTH_STORAGES(UncoveredGrant, "A grant record appended to the log behind the last signed checkpoint is not honoured") {
  append_n(*log, a, 3, "canary-a");
  with_tenant(a, [&](auto scope) { (void)log->checkpoint(scope); });
  // A grant of A that is not covered by a signed checkpoint: whoever holds the storage cuts the
  // checkpoint the grant signed.
  const auto admin = context_for("tenant-a", "admin", {}, {"admin:audit"});
  grant(*log, admin, "ops-mallory");
  log.reset();
  {
    auto streams = storage->open(TenantId("tenant-a"), OpenMode::ReadWrite);
    const auto notes = streams->read_checkpoints().notes;
    REQUIRE(notes.size() >= 2);
    streams->truncate_checkpoints(notes.size() - 1);
  }
  reopen();
  AuditAccessRecorder recorder(*log);
  SystemScope system(recorder, "ops-mallory", "support investigation");
  CHECK(code_of([&] { log->operator_read_full(system, TenantId("tenant-a"), 0, 3); }) == ErrorCode::PermissionDenied);
}
