// The two Ed25519 signing-key files carry a format version: keys written by the previous
// release (headerless) still load and sign as the same key, new ones carry the header, and a
// version this build does not know is refused naming the file.
#include <catch2/catch.hpp>
#include <tenantai/audit/checkpoint.h>
#include <tenantai/pipeline.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/durable_file.h"
#include "platform_fixture.h"
#include "support/error_code.h"
#include "support/test_auth.h"

using namespace tenantai;

namespace {


void write_all(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

}  // namespace

TEST_CASE("signing keys: the audit signer key is versioned; a headerless key loads as the same key",
          "[pipeline][formats]") {
  test_support::TempDir dir;
  const std::filesystem::path root(dir.path());
  const auto signer = audit::CheckpointSigner::from_seed(std::string(32, '\x07'), "tenantai-audit");
  signer.save((root / "new.key").string());
  CHECK(tenantai::detail::read_file(root / "new.key").rfind("tenantai-signing-key 1 alg=ed25519\n", 0) == 0);
  CHECK(audit::CheckpointSigner::load((root / "new.key").string()).verifier_key() == signer.verifier_key());

  // The previous release wrote the body line alone.
  const std::string file = tenantai::detail::read_file(root / "new.key");
  write_all(root / "old.key", file.substr(file.find('\n') + 1));
  CHECK(audit::CheckpointSigner::load((root / "old.key").string()).verifier_key() == signer.verifier_key());

  write_all(root / "future.key", "tenantai-signing-key 2 alg=ed25519\n" + file.substr(file.find('\n') + 1));
  CHECK_THROWS_WITH(audit::CheckpointSigner::load((root / "future.key").string()),
                    Catch::Contains("future.key") && Catch::Contains("format version 2"));
  write_all(root / "other-alg.key", "tenantai-signing-key 1 alg=ml-dsa-65\n" + file.substr(file.find('\n') + 1));
  CHECK_THROWS_WITH(audit::CheckpointSigner::load((root / "other-alg.key").string()), Catch::Contains("other-alg.key"));
}

TEST_CASE("signing keys: the receipt signer key is versioned; the previous release's raw seed still signs",
          "[pipeline][formats]") {
  test_support::TempDir dir;
  const auto data = std::filesystem::path(dir.path()) / "data";
  const auto key = data / "keys" / "receipt-signer.key";
  std::string verifier;
  {
    pipeline::Platform platform(pipeline_test::echo_options(data));
    pipeline::TenantRegistry registry(platform);
    verifier = registry.receipt_verifier_key();
  }
  CHECK(tenantai::detail::read_file(key).rfind("tenantai-signing-key 1 alg=ed25519\n", 0) == 0);
  {
    pipeline::Platform platform(pipeline_test::echo_options(data));
    CHECK(pipeline::TenantRegistry(platform).receipt_verifier_key() == verifier);  // reloaded as the same key
  }
  write_all(key, std::string(32, '\x2a'));  // version 0: 32 raw seed bytes
  std::string raw_verifier;
  {
    pipeline::Platform platform(pipeline_test::echo_options(data));
    raw_verifier = pipeline::TenantRegistry(platform).receipt_verifier_key();
  }
  {
    pipeline::Platform platform(pipeline_test::echo_options(data));
    CHECK(pipeline::TenantRegistry(platform).receipt_verifier_key() == raw_verifier);
  }
  write_all(key, "tenantai-signing-key 9 alg=ed25519\nAAAA\n");
  pipeline::Platform platform(pipeline_test::echo_options(data));
  CHECK_THROWS_WITH(pipeline::TenantRegistry(platform), Catch::Contains("receipt-signer.key") && Catch::Contains("format version 9"));
}
