// Backup and restore through the shipped tenantai-backup binary on data_dirs built by the real
// Platform: a whole data_dir restores into an empty directory and serves; one tenant restores
// without touching the others; a damaged backup is refused with nothing written; a restore that
// would roll an audit log back is refused unless --allow-rollback, and then recorded.
#include <catch2/catch.hpp>
#include <tenantai/audit/audit_log.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "backup_fixture.h"
#include "layout.h"
#include "core/data_dir_lock.h"
#include "core/durable_file.h"
#include "support/test_auth.h"

using namespace backup_test;
using tenantai::test_support::TempDir;

namespace {

// The tenant's audit events recorded by tenantai-backup, read by the tenant's own admin.
std::vector<tenantai::audit::AuditEvent> restore_events(Life& life, const std::string& tenant) {
  return tenantai::with_tenant(life.login(tenant, "Admin"), [&](auto scope) {
    const auto size = life.platform->audit().size(scope);
    std::vector<tenantai::audit::AuditEvent> out;
    for (const auto& r : scope.release(life.platform->audit().read(scope, 0, size))) {
      if (r.event && r.event->actor == "system:tenantai-backup") out.push_back(*r.event);
    }
    return out;
  });
}

nlohmann::json restore_record(const fs::path& data_dir) {
  for (const auto& entry : fs::directory_iterator(data_dir / "restores")) {
    return nlohmann::json::parse(tenantai::detail::read_file(entry.path() / "restore.json"));
  }
  FAIL("no restore record");
  return {};
}

void flip_byte(const fs::path& path, std::size_t at) {
  std::string bytes = tenantai::detail::read_file(path);
  REQUIRE(bytes.size() > at);
  bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace

TEST_CASE("a whole data_dir backed up and restored into an empty directory serves every tenant", "[backup]") {
  TempDir dir;
  const fs::path data = fs::path(dir.path()) / "data";
  const fs::path backup = fs::path(dir.path()) / "backup";
  const fs::path restored = fs::path(dir.path()) / "restored";
  populate(data);

  const Run created = run_tool({"create", "--data-dir", data.string(), "--out", backup.string()});
  INFO(created.output);
  REQUIRE(created.exit_code == 0);
  CHECK_THAT(created.output, Catch::Contains("3 tenant(s)"));
  const auto manifest = nlohmann::json::parse(tenantai::detail::read_file(backup / "manifest.json"));
  CHECK(manifest["version"] == 1);
  CHECK(manifest["tenants"].size() == 3);
  for (const auto& t : manifest["tenants"]) CHECK(t["audit"]["signed_size"].get<std::uint64_t>() > 0);

  const Run restore = run_tool({"restore", "--from", backup.string(), "--data-dir", restored.string()});
  INFO(restore.output);
  REQUIRE(restore.exit_code == 0);
  CHECK_THAT(restore.output, Catch::Contains("audit logs ROLLED BACK: 0"));

  Life life(restored);
  for (const auto& [id, sealed] : kTenants) {
    INFO(id);
    CHECK(life.query(id, "refund policy") == id + "-policy\n");
    CHECK(life.memories(id) == std::vector<std::string>{"memory of " + id + " before the backup"});
    auto report = life.verify_audit(id);
    REQUIRE(report.ok());
    const auto events = restore_events(life, id);
    REQUIRE(events.size() == 1);
    CHECK(events[0].operation == tenantai::audit::Operation::OperatorAccess);
    CHECK_THAT(events[0].detail, Catch::Contains("reason: restore from backup; ticket: backup of "));
  }
}

TEST_CASE("a damaged backup is refused and nothing is written", "[backup]") {
  TempDir dir;
  const fs::path data = fs::path(dir.path()) / "data";
  const fs::path backup = fs::path(dir.path()) / "backup";
  const fs::path target = fs::path(dir.path()) / "target";
  populate(data);
  REQUIRE(run_tool({"create", "--data-dir", data.string(), "--out", backup.string()}).exit_code == 0);

  const fs::path victim = backup / "files" / "corpus" / "globex.corpus";
  flip_byte(victim, fs::file_size(victim) / 2);
  const Run verify = run_tool({"verify", "--from", backup.string()});
  CHECK(verify.exit_code == 1);
  CHECK_THAT(verify.output, Catch::Contains("globex.corpus") && Catch::Contains("does not match the manifest"));
  const Run restore = run_tool({"restore", "--from", backup.string(), "--data-dir", target.string()});
  CHECK(restore.exit_code == 1);
  CHECK_THAT(restore.output, Catch::Contains("Tampered") && Catch::Contains("globex.corpus"));
  CHECK_FALSE(fs::exists(target));

  // A backup whose manifest never got written (interrupted create) is no backup.
  fs::remove(backup / "manifest.json");
  CHECK_THAT(run_tool({"restore", "--from", backup.string(), "--data-dir", target.string()}).output,
             Catch::Contains("did not finish"));
  CHECK_FALSE(fs::exists(target));
}

TEST_CASE("a manifest of an unknown version or with a path outside the data_dir is refused", "[backup]") {
  TempDir dir;
  const fs::path data = fs::path(dir.path()) / "data";
  const fs::path backup = fs::path(dir.path()) / "backup";
  populate(data);
  REQUIRE(run_tool({"create", "--data-dir", data.string(), "--out", backup.string(), "--tenant", "globex"}).exit_code == 0);
  const std::string original = tenantai::detail::read_file(backup / "manifest.json");
  auto manifest = nlohmann::json::parse(original);
  manifest["version"] = 2;
  std::ofstream(backup / "manifest.json", std::ios::trunc) << manifest.dump();
  Run run = run_tool({"verify", "--from", backup.string()});
  CHECK(run.exit_code == 1);
  CHECK_THAT(run.output, Catch::Contains("manifest.json") && Catch::Contains("format version 2"));

  manifest = nlohmann::json::parse(original);
  manifest["files"][0]["path"] = "../../outside";
  std::ofstream(backup / "manifest.json", std::ios::trunc) << manifest.dump();
  run = run_tool({"verify", "--from", backup.string()});
  CHECK(run.exit_code == 1);
  CHECK_THAT(run.output, Catch::Contains("outside the data_dir"));
}

TEST_CASE("backup and restore refuse a data_dir a live process holds", "[backup]") {
  TempDir dir;
  const fs::path data = fs::path(dir.path()) / "data";
  const fs::path backup = fs::path(dir.path()) / "backup";
  populate(data);
  {
    const tenantai::detail::DataDirLock held(data);
    const Run create = run_tool({"create", "--data-dir", data.string(), "--out", backup.string()});
    CHECK(create.exit_code == 1);
    CHECK_THAT(create.output, Catch::Contains("in use by another process"));
    CHECK_FALSE(fs::exists(backup / "manifest.json"));
  }
  REQUIRE(run_tool({"create", "--data-dir", data.string(), "--out", backup.string()}).exit_code == 0);
  const auto before = digests_under(data);
  {
    const tenantai::detail::DataDirLock held(data);
    const Run restore = run_tool({"restore", "--from", backup.string(), "--data-dir", data.string()});
    CHECK(restore.exit_code == 1);
    CHECK_THAT(restore.output, Catch::Contains("in use by another process"));
  }
  CHECK(digests_under(data) == before);
}

TEST_CASE("one tenant restores into a stopped data_dir without touching the other tenants", "[backup]") {
  TempDir dir;
  const fs::path data = fs::path(dir.path()) / "data";
  const fs::path backup = fs::path(dir.path()) / "backup";
  populate(data);
  REQUIRE(run_tool({"create", "--data-dir", data.string(), "--out", backup.string(), "--tenant", "acme-bank"}).exit_code == 0);
  {  // the other tenants go on working after the backup
    Life life(data);
    life.ingest("globex", "globex-later", "Later globex memo CANARY-globex-LATER");
    life.remember("initech", "initech after the backup");
  }
  // acme-bank's files are lost (say, a bad disk sector under them).
  for (const auto& relative : tenantai::backup::list_files(data)) {
    if (relative.find("acme-bank") != std::string::npos) fs::remove(data / relative);
  }
  std::map<std::string, std::string> others;
  for (const auto& [path, digest] : digests_under(data)) others[path] = digest;

  const Run restore = run_tool({"restore", "--from", backup.string(), "--data-dir", data.string()});
  INFO(restore.output);
  REQUIRE(restore.exit_code == 0);
  for (const auto& [path, digest] : digests_under(data)) {
    if (path.find("acme-bank") != std::string::npos || path.starts_with("restores/")) continue;
    INFO(path);
    CHECK(others.at(path) == digest);  // every other file byte for byte as it was
  }
  Life life(data);
  CHECK(life.query("acme-bank", "refund policy") == "acme-bank-policy\n");
  CHECK(life.memories("acme-bank") == std::vector<std::string>{"memory of acme-bank before the backup"});
  CHECK(life.verify_audit("acme-bank").ok());
  CHECK_THAT(life.query("globex", "globex memo"), Catch::Contains("globex-later"));
  CHECK(life.memories("initech").size() == 2);
}

TEST_CASE("a restore that would roll an audit log back is refused, then done and recorded with --allow-rollback",
          "[backup]") {
  TempDir dir;
  const fs::path data = fs::path(dir.path()) / "data";
  const fs::path backup = fs::path(dir.path()) / "backup";
  populate(data);
  REQUIRE(run_tool({"create", "--data-dir", data.string(), "--out", backup.string()}).exit_code == 0);
  {  // acme-bank's log grows after the backup
    Life life(data);
    life.ingest("acme-bank", "acme-bank-later", "Later acme memo CANARY-acme-LATER");
  }
  const auto before = digests_under(data);
  const Run refused = run_tool({"restore", "--from", backup.string(), "--data-dir", data.string(), "--tenant", "acme-bank"});
  INFO(refused.output);
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.output, Catch::Contains("would roll back audit logs") && Catch::Contains("acme-bank: ") &&
                                 Catch::Contains("--allow-rollback"));
  CHECK(digests_under(data) == before);  // nothing written

  const Run allowed = run_tool(
      {"restore", "--from", backup.string(), "--data-dir", data.string(), "--tenant", "acme-bank", "--allow-rollback"});
  INFO(allowed.output);
  REQUIRE(allowed.exit_code == 0);
  CHECK_THAT(allowed.output, Catch::Contains("audit logs ROLLED BACK: 1"));
  const auto record = restore_record(data);
  CHECK(record["state"] == "completed");
  REQUIRE(record["rollbacks"].size() == 1);
  CHECK_THAT(record["rollbacks"][0].get<std::string>(), Catch::StartsWith("acme-bank: "));
  const auto after = digests_under(data);
  for (const auto& [path, digest] : before) {
    if (path.find("acme-bank") == std::string::npos) CHECK(after.at(path) == digest);
  }
  // The rolled-back log is kept beside the record, not lost.
  bool kept = false;
  for (const auto& [path, digest] : after) kept = kept || (path.ends_with("displaced/audit/acme-bank.log") && digest == before.at("audit/acme-bank.log"));
  CHECK(kept);

  Life life(data);
  CHECK(life.query("acme-bank", "acme memo") == "acme-bank-policy\n");  // back to the backup's state
  CHECK(life.verify_audit("acme-bank").ok());
  const auto events = restore_events(life, "acme-bank");
  REQUIRE(events.size() == 1);
  CHECK_THAT(events[0].detail, Catch::Contains("rolled the audit log back") && Catch::Contains("rolled back: "));
}
