#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "audit_fixture.h"

using namespace audit_test;

namespace {
struct CliRun {
  int code;
  std::string out;
  std::string err;
};
CliRun cli(std::vector<std::string> args) {
  std::ostringstream out;
  std::ostringstream err;
  const int code = run_audit_cli(args, out, err);
  return {code, out.str(), err.str()};
}
}  // namespace

TEST_CASE_METHOD(AuditFixture, "tenantai-audit verifies, proves and exports against a pinned key") {
  append_n(*log, a, 30, "cli");
  with_tenant(a, [&](auto scope) { (void)log->checkpoint(scope); });
  const std::string dir = (root() / "audit").string();
  const std::string vkey = signer.verifier_key();

  auto ok = cli({"verify", "--root", dir, "--tenant", "tenant-a", "--key", vkey});
  INFO(ok.err);
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Catch::Contains("30 events"));

  // Key from a file; a different key fails.
  { std::ofstream(root() / "vkey") << vkey << "\n"; }
  CHECK(cli({"verify", "--root", dir, "--tenant", "tenant-a", "--key", "@" + (root() / "vkey").string()}).code == 0);
  const auto stranger = CheckpointSigner::generate("test-log");
  CHECK(cli({"verify", "--root", dir, "--tenant", "tenant-a", "--key", stranger.verifier_key()}).code == 1);

  auto proof = cli({"prove", "--root", dir, "--tenant", "tenant-a", "--key", vkey, "--index", "17"});
  CHECK(proof.code == 0);
  CHECK_THAT(proof.out, Catch::Contains("\"verified\": true"));
  CHECK_THAT(proof.out, Catch::Contains("\"tree_size\": 30"));

  const std::string bundle = (root() / "offline.jsonl").string();
  CHECK(cli({"export", "--root", dir, "--tenant", "tenant-a", "--key", vkey, "--out", bundle}).code == 0);
  CHECK(cli({"verify", "--bundle", bundle, "--tenant", "tenant-a", "--key", vkey}).code == 0);
  CHECK(cli({"verify", "--bundle", bundle, "--tenant", "tenant-b", "--key", vkey}).code == 1);

  // Drop one record line from the bundle: the omission is named.
  std::ifstream in(bundle);
  std::string line;
  std::string edited;
  while (std::getline(in, line)) {
    if (line.find("\"index\":12,") == std::string::npos || line.find("\"record\"") == std::string::npos) edited += line + "\n";
  }
  { std::ofstream(root() / "edited.jsonl") << edited; }
  auto bad = cli({"verify", "--bundle", (root() / "edited.jsonl").string(), "--tenant", "tenant-a", "--key", vkey});
  CHECK(bad.code == 1);
  CHECK_THAT(bad.err, Catch::Contains("first bad index 12"));

  CHECK(cli({}).code == 2);
  CHECK(cli({"verify", "--root"}).code == 2);
  CHECK(cli({"frobnicate", "--x", "y"}).code == 2);
  CHECK(cli({"verify", "--root", dir, "--tenant", "Not A Tenant", "--key", vkey}).code == 2);
}
