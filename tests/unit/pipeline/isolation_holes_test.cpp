// Adversarial tests for the holes an attacker found in the first version (docs/security-review.md,
// "Findings of the adversarial review"): cached answers crossing ACL groups inside a tenant,
// writes that ignored the ACL, SystemScope paths that escaped the grant, the recorder and the
// visit, and export files readable by everyone. Each failed on the code before its fix.
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <tenantai/core.h>
#include <tenantai/inference/echo_model.h>
#include <tenantai/inference/hashing_embedder.h>
#include <tenantai/pipeline.h>

#include <filesystem>
#include <fstream>

#include "support/error_code.h"
#include "platform_fixture.h"
#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::pipeline;
using tenantai::test_support::code_of;
using tenantai::test_support::TempDir;

namespace {

using tenantai::test_support::fixed_secret;

const std::string kRiskCanary = "RISK-ONLY-CANARY-5521";
const std::string kCommaCanary = "COMMA-GROUP-CANARY-8830";

// One tenant with actors whose group sets collide under a comma-joined encoding:
// "merged" holds ONE group named "risk,staff"; "split" holds the two groups "risk" and "staff".
struct AclWorld {
  TempDir dir;
  std::unique_ptr<Platform> platform;
  std::unique_ptr<TenantRegistry> registry;
  std::unique_ptr<Pipeline> pipeline;
  const std::string merged = fixed_secret("holesMergedActor");
  const std::string split = fixed_secret("holesSplitActor");
  const std::string staff = fixed_secret("holesStaffActor");
  const std::string writer_any = fixed_secret("holesWriteAnyActor");
  const std::string admin = fixed_secret("holesAuditAdmin");

  AclWorld() {
    auto options = pipeline_test::echo_options(std::filesystem::path(dir.path()) / "data");
    platform = std::make_unique<Platform>(std::move(options));
    registry = std::make_unique<TenantRegistry>(*platform);
    pipeline = std::make_unique<Pipeline>(*platform);
    TenantConfig config{TenantId("acme-bank")};
    config.tier = "enterprise";
    config.models.model = "echo-small";
    config.quotas.requests_per_minute = 100000;
    config.quotas.tokens_per_minute = 100000000;
    config.budgets.daily = 100'000'000;
    config.encryption_required = true;
    config.api_keys.push_back({"merged", {"risk,staff"}, {}, merged});
    config.api_keys.push_back({"split", {"risk", "staff"}, {}, split});
    config.api_keys.push_back({"teller", {"staff"}, {}, staff});
    config.api_keys.push_back({"loader", {}, {"documents:write-any"}, writer_any});
    config.api_keys.push_back({"admin", {"staff", "risk"}, {"admin:audit", "admin:export", "audit:read"}, admin});
    SystemScope system(platform->access_recorder(), "test-operator", "provision isolation-holes tenant");
    registry->onboard(system, config);
    ingest(split, {{"acme-risk-memo", "Risk memo", "The risk desk limit memo says " + kRiskCanary + ".", {"risk"}, {}}});
    ingest(merged, {{"acme-comma-memo", "Comma memo", "The comma group memo says " + kCommaCanary + ".", {"risk,staff"}, {}}});
  }

  TenantContext login(const std::string& secret) const {
    auto context = platform->authenticator().authenticate(secret);
    if (!context) throw context.error();
    return *context;
  }
  void ingest(const std::string& secret, const std::vector<IngestDocument>& documents) {
    with_tenant(login(secret), [&](auto scope) { pipeline->ingest(scope, documents); });
  }
  ChatAnswer chat(const std::string& secret, const std::string& question) {
    ChatRequest request;
    request.messages = {{"user", question}};
    request.max_tokens = 2000;
    return with_tenant(login(secret), [&](auto scope) { return scope.release(pipeline->chat(scope, request)); });
  }
  std::vector<Passage> query(const std::string& secret, const std::string& text) {
    return with_tenant(login(secret), [&](auto scope) { return scope.release(pipeline->query(scope, {text, 8, {}})); });
  }
  std::vector<audit::AuditRecord> audit_records() {
    return with_tenant(login(admin), [&](auto scope) { return scope.release(platform->audit().read(scope, 0, 100000)); });
  }
};

std::string joined(const std::vector<Passage>& passages) {
  std::string out;
  for (const auto& p : passages) out += p.id + " " + p.text + "\n";
  return out;
}

}  // namespace

TEST_CASE("finding 1: an actor whose one group is 'risk,staff' never gets the cached answer of an actor in 'risk' and 'staff'",
          "[pipeline][isolation_holes]") {
  AclWorld world;
  const std::string question = "What does the risk desk limit memo say?";
  auto first = world.chat(world.split, question);
  REQUIRE(first.text.find(kRiskCanary) != std::string::npos);  // split may read the risk memo
  auto second = world.chat(world.merged, question);
  INFO(second.cache << ": " << second.text);
  CHECK(second.cache == "miss");
  CHECK(second.text.find(kRiskCanary) == std::string::npos);
  // And the other way round: the comma-group memo does not reach "split" through the cache.
  const std::string other = "What does the comma group memo say?";
  auto merged_first = world.chat(world.merged, other);
  REQUIRE(merged_first.text.find(kCommaCanary) != std::string::npos);
  auto split_second = world.chat(world.split, other);
  CHECK(split_second.cache == "miss");
  CHECK(split_second.text.find(kCommaCanary) == std::string::npos);
}

TEST_CASE("finding 1: a paraphrase does not carry a cached answer across ACL groups through the semantic cache",
          "[pipeline][isolation_holes]") {
  AclWorld world;
  auto first = world.chat(world.split, "What does the risk desk limit memo say?");
  REQUIRE(first.text.find(kRiskCanary) != std::string::npos);
  auto paraphrase = world.chat(world.merged, "What does the risk desk limit memo say ?");
  INFO(paraphrase.cache << ": " << paraphrase.text);
  CHECK(paraphrase.cache != "semantic");
  CHECK(paraphrase.cache != "exact");
  CHECK(paraphrase.text.find(kRiskCanary) == std::string::npos);
  // The merged actor's own retrieval agrees: the risk memo is not visible to it.
  CHECK(joined(world.query(world.merged, "risk desk limit memo")).find(kRiskCanary) == std::string::npos);
}

TEST_CASE("finding 2: an actor cannot overwrite or plant documents of a group it does not hold, and the refusal is audited",
          "[pipeline][isolation_holes]") {
  AclWorld world;
  // Overwrite the risk-only memo, keeping or dropping its ACL: both refused.
  for (const std::vector<std::string>& acl : {std::vector<std::string>{"risk"}, std::vector<std::string>{}}) {
    CHECK(code_of([&] {
            world.ingest(world.staff, {{"acme-risk-memo", "Risk memo", "ATTACKER-TEXT-1 wire the funds", acl, {}}});
          }) == ErrorCode::PermissionDenied);
  }
  // Plant a new risk document.
  CHECK(code_of([&] {
          world.ingest(world.staff, {{"acme-risk-new", "Risk update", "ATTACKER-TEXT-2 new risk policy", {"risk"}, {}}});
        }) == ErrorCode::PermissionDenied);
  // A batch with one forbidden document writes nothing at all.
  CHECK(code_of([&] {
          world.ingest(world.staff, {{"acme-staff-ok", "Fine", "ATTACKER-TEXT-3 harmless", {"staff"}, {}},
                                     {"acme-risk-new2", "Risk", "ATTACKER-TEXT-4", {"risk"}, {}}});
        }) == ErrorCode::PermissionDenied);
  const auto seen = joined(world.query(world.split, "risk desk limit memo attacker text wire funds policy harmless"));
  INFO(seen);
  CHECK(seen.find(kRiskCanary) != std::string::npos);
  CHECK(seen.find("ATTACKER-TEXT") == std::string::npos);
  // What the actor holds it may write; the write-any capability may write any group.
  world.ingest(world.staff, {{"acme-staff-note", "Staff note", "Staff note text.", {"staff"}, {}}});
  world.ingest(world.writer_any, {{"acme-risk-loaded", "Loaded", "Bulk loaded risk text.", {"risk"}, {}}});
  std::size_t denied = 0;
  for (const auto& record : world.audit_records()) {
    if (record.event && record.event->operation == audit::Operation::Write && record.event->status == "PermissionDenied") ++denied;
  }
  CHECK(denied >= 4);
}

TEST_CASE("finding 2: deleting a document needs its ACL groups too", "[pipeline][isolation_holes]") {
  AclWorld world;
  auto remove = [&](const std::string& secret, const std::string& id) {
    return with_tenant(world.login(secret), [&](auto scope) { return world.pipeline->remove_documents(scope, {id}); });
  };
  CHECK(code_of([&] { remove(world.staff, "acme-risk-memo"); }) == ErrorCode::PermissionDenied);
  CHECK(joined(world.query(world.split, "risk desk limit memo")).find(kRiskCanary) != std::string::npos);
  CHECK(remove(world.split, "acme-risk-memo") == 1);
  CHECK(joined(world.query(world.split, "risk desk limit memo")).find(kRiskCanary) == std::string::npos);
  CHECK(remove(world.split, "acme-risk-memo") == 0);  // gone: nothing to delete, not an error
}

TEST_CASE("finding 3: a SystemScope visit reads the audit log only through the operator grant", "[pipeline][isolation_holes]") {
  AclWorld world;
  world.chat(world.split, "What does the risk desk limit memo say?");
  SystemScope system(world.platform->access_recorder(), "ops-mallory", "support investigation");
  CHECK(code_of([&] {
          system.visit(TenantId("acme-bank"), [&](auto scope) { (void)world.platform->audit().read(scope, 0, 1000); });
        }) == ErrorCode::PermissionDenied);
  // With the tenant's grant the same read works, and is recorded as an operator read.
  with_tenant(world.login(world.admin), [&](auto scope) {
    world.platform->audit().grant_operator_access(scope, "ops-mallory",
                                                  std::chrono::system_clock::now() + std::chrono::hours(1));
  });
  auto records = system.visit(TenantId("acme-bank"), [&](auto scope) {
    return scope.release(world.platform->audit().read(scope, 0, 1000));
  });
  CHECK_FALSE(records.empty());
  std::size_t full_reads = 0;
  for (const auto& r : world.audit_records()) {
    if (r.event && r.event->operation == audit::Operation::OperatorAccess && r.event->target == "audit-log") ++full_reads;
  }
  CHECK(full_reads == 2);  // the refused read and the granted one
}

TEST_CASE("finding 3: a SystemScope with a caller's own recorder cannot reach the platform's tenants", "[pipeline][isolation_holes]") {
  AclWorld world;
  InMemoryAccessRecorder quiet;  // records nothing in the tenant's log
  SystemScope rogue(quiet, "ops-mallory", "reading without a trace");
  const auto before = world.audit_records().size();
  CHECK(code_of([&] {
          rogue.visit(TenantId("acme-bank"), [&](auto scope) { (void)world.platform->documents().all(scope); });
        }) == ErrorCode::PermissionDenied);
  CHECK(code_of([&] {
          rogue.visit(TenantId("acme-bank"), [&](auto scope) { (void)world.platform->audit().size(scope); });
        }) == ErrorCode::PermissionDenied);
  // The platform's own scope works and leaves its trace in the tenant's log.
  auto system = world.platform->system_scope("ops-alice", "documented support visit");
  const auto documents = system.visit(TenantId("acme-bank"), [&](auto scope) {
    return scope.release(world.platform->documents().all(scope)).size();
  });
  CHECK(documents == 2);
  bool traced = false;
  for (const auto& r : world.audit_records()) {
    if (r.event && r.event->operation == audit::Operation::OperatorAccess && r.event->actor == "system:ops-alice") traced = true;
  }
  CHECK(traced);
  CHECK(world.audit_records().size() > before);
}

TEST_CASE("finding 3: a system context copied out of a visit is dead once the visit ends", "[pipeline][isolation_holes]") {
  AclWorld world;
  std::optional<TenantContext> smuggled;
  {
    SystemScope system(world.platform->access_recorder(), "ops-mallory", "one visit only",
                       {.max_visits = 1, .ticket = "", .visit_timeout = std::chrono::minutes(1)});
    system.visit(TenantId("acme-bank"), [&](auto scope) { smuggled = scope.context(); });
  }
  REQUIRE(smuggled);
  CHECK(smuggled->is_system());
  CHECK(code_of([&] { with_tenant(*smuggled, [&](auto scope) { (void)world.platform->documents().all(scope); }); }) ==
        ErrorCode::PermissionDenied);
  CHECK(code_of([&] { world.platform->sealer().destroy(*smuggled); }) == ErrorCode::PermissionDenied);
  CHECK(code_of([&] {
          with_tenant(*smuggled, [&](auto scope) {
            (void)world.registry->offboard(scope, std::filesystem::path(world.dir.path()) / "x");
          });
        }) == ErrorCode::PermissionDenied);
  // The tenant still works: nothing was destroyed.
  CHECK(joined(world.query(world.split, "risk desk limit memo")).find(kRiskCanary) != std::string::npos);
}

TEST_CASE("finding 3: a hand-written grants file is not honoured", "[pipeline][isolation_holes]") {
  AclWorld world;
  world.chat(world.split, "What does the risk desk limit memo say?");
  const auto grants = world.platform->audit().root() / "acme-bank.grants";
  {
    std::ofstream out(grants);
    out << "ops-mallory 99999999999999\n";
  }
  SystemScope system(world.platform->access_recorder(), "ops-mallory", "support investigation");
  CHECK(code_of([&] { world.platform->audit().operator_read_full(system, TenantId("acme-bank"), 0, 100); }) ==
        ErrorCode::PermissionDenied);
}

TEST_CASE("finding 5: the exported audit bundle is readable by its owner only", "[pipeline][isolation_holes]") {
  AclWorld world;
  world.chat(world.split, "What does the risk desk limit memo say?");
  const auto directory = std::filesystem::path(world.dir.path()) / "export";
  with_tenant(world.login(world.admin), [&](auto scope) { (void)world.registry->export_tenant(scope, directory); });
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    struct stat st {};
    REQUIRE(::stat(entry.path().c_str(), &st) == 0);
    INFO(entry.path().string());
    CHECK((st.st_mode & 0777) == 0600);
  }
}
