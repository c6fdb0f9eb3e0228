#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <tenantai/audit/checkpoint.h>

#include <filesystem>

#include "support/error_code.h"
#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::audit;
using tenantai::test_support::code_of;
using tenantai::test_support::TempDir;

TEST_CASE("Checkpoints are C2SP signed notes that verify against the pinned key and origin") {
  const auto signer = CheckpointSigner::generate("example-log");
  const Hash root = leaf_hash("x");
  const Checkpoint cp = signer.sign(origin_for(TenantId("acme")), 42, root);
  CHECK(cp.note.rfind("tenantai.audit/acme\n42\n", 0) == 0);
  CHECK(cp.note.find("\n\n\xE2\x80\x94 example-log ") != std::string::npos);

  const auto verifier = CheckpointVerifier::parse(signer.verifier_key()).value();
  auto ok = verifier.verify(cp.note, "tenantai.audit/acme");
  REQUIRE(ok.ok());
  CHECK(ok->size == 42);
  CHECK(ok->root == root);

  // Pinned origin: a valid checkpoint of another tenant's log is refused.
  CHECK(verifier.verify(cp.note, "tenantai.audit/other").error().code() == ErrorCode::IsolationViolation);
  // Any change to the signed body breaks the signature.
  std::string forged = cp.note;
  forged.replace(forged.find("\n42\n"), 4, "\n43\n");
  CHECK(verifier.verify(forged, "tenantai.audit/acme").error().code() == ErrorCode::Tampered);
  // Another key with the same name does not verify.
  const auto other = CheckpointSigner::generate("example-log");
  const auto other_verifier = CheckpointVerifier::parse(other.verifier_key()).value();
  CHECK(other_verifier.verify(cp.note, "tenantai.audit/acme").error().code() == ErrorCode::Tampered);
  CHECK(verifier.verify("garbage", "tenantai.audit/acme").error().code() == ErrorCode::Tampered);
}

TEST_CASE("Verifier keys are checked and signing keys round-trip through a 0600 file") {
  CHECK_FALSE(CheckpointVerifier::parse("no-plus-signs").ok());
  const auto signer = CheckpointSigner::generate("k");
  std::string vkey = signer.verifier_key();
  vkey[2] = vkey[2] == '0' ? '1' : '0';  // corrupt the key hash
  CHECK_FALSE(CheckpointVerifier::parse(vkey).ok());
  CHECK(code_of([] { CheckpointSigner::generate("has space"); }) == ErrorCode::InvalidArgument);

  TempDir dir;
  const std::string path = dir.path() + "/signer.key";
  signer.save(path);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(CheckpointSigner::load(path).verifier_key() == signer.verifier_key());
  CHECK(code_of([&] { signer.save(path); }) == ErrorCode::AlreadyExists);
}
