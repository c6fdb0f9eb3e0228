// The audit signing keys live sealed by the KeyProvider, not in the clear on the data disk:
// whoever can read and write every file of the data directory, but not the KeyProvider's master
// key, can neither load a signer from those files nor make the platform sign with a key of their
// choosing; a swapped or damaged signer file is refused naming it.
#include <catch2/catch.hpp>
#include <tenantai/audit/checkpoint.h>
#include <tenantai/audit/verify.h>
#include <tenantai/crypto/local_key_provider.h>
#include <tenantai/pipeline.h>

#include <filesystem>
#include <fstream>

#include "core/durable_file.h"
#include "pipeline/audit_signers.h"
#include "platform_fixture.h"
#include "support/error_code.h"
#include "support/tenant_configs.h"
#include "support/test_auth.h"

using namespace tenantai;
using tenantai::pipeline::detail::AuditSigners;
using tenantai::test_support::code_of;
using tenantai::test_support::TempDir;

namespace {

struct Keys {
  TempDir dir;
  std::filesystem::path data() const { return std::filesystem::path(dir.path()) / "data"; }
  std::filesystem::path vault() const { return std::filesystem::path(dir.path()) / "vault"; }  // off the data disk
  crypto::LocalKeyProvider provider{vault()};
  AuditSigners signers{provider, data() / "keys" / "audit-signers"};
};

}  // namespace

TEST_CASE("audit signers: one key per tenant, named after its origin, the same after a restart", "[pipeline][audit-keys]") {
  Keys k;
  const TenantId acme("acme-bank");
  const auto signer = k.signers.signer_for(acme);
  CHECK(signer->name() == audit::origin_for(acme));
  CHECK(k.signers.signer_for(TenantId("globex"))->verifier_key() != signer->verifier_key());
  AuditSigners again(k.provider, k.data() / "keys" / "audit-signers");
  CHECK(again.signer_for(acme)->verifier_key() == signer->verifier_key());
  CHECK(AuditSigners::verifier_key_in(k.data() / "keys" / "audit-signers", acme) == signer->verifier_key());
}

TEST_CASE("audit signers: nothing in the data directory loads as a signing key", "[pipeline][audit-keys]") {
  Keys k;
  const auto signer = k.signers.signer_for(TenantId("acme-bank"));
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(k.data())) {
    if (!entry.is_regular_file()) continue;
    ++files;
    INFO(entry.path());
    bool loaded = true;
    try {
      (void)audit::CheckpointSigner::load(entry.path().string());
    } catch (const Error&) {
      loaded = false;
    }
    CHECK_FALSE(loaded);
  }
  CHECK(files == 1);
}

TEST_CASE("audit signers: a swapped, damaged or foreign signer file is refused naming it", "[pipeline][audit-keys]") {
  Keys k;
  const TenantId acme("acme-bank");
  const auto dir = k.data() / "keys" / "audit-signers";
  (void)k.signers.signer_for(acme);
  (void)k.signers.signer_for(TenantId("globex"));
  auto fresh = [&] { return AuditSigners(k.provider, dir); };
  const std::string original = tenantai::detail::read_file(dir / "acme-bank.signer");
  auto write = [&](const std::string& text) {
    std::ofstream out(dir / "acme-bank.signer", std::ios::binary | std::ios::trunc);
    out << text;
  };
  auto refused = [&](const std::string& why) {
    INFO(why);
    auto signers = fresh();
    try {
      (void)signers.signer_for(acme);
      FAIL("a bad signer file was used");
    } catch (const Error& e) {
      CHECK((e.code() == ErrorCode::Tampered || e.code() == ErrorCode::CryptoFailure));
      CHECK_THAT(e.message(), Catch::Contains("acme-bank.signer"));
    }
  };
  SECTION("another tenant's sealed key under this tenant's name") {
    write(tenantai::detail::read_file(dir / "globex.signer"));
    refused("swapped");
  }
  SECTION("the attacker's own key with a matching public line") {
    const auto attacker = audit::CheckpointSigner::generate(audit::origin_for(acme));
    std::string text = original.substr(0, original.rfind('\n', original.size() - 2) + 1) + attacker.verifier_key() + "\n";
    write(text);
    refused("public line replaced");
  }
  SECTION("a flipped byte in the sealed key") {
    std::string text = original;
    const auto at = text.find(' ') + 5;
    text[at] = text[at] == 'A' ? 'B' : 'A';
    write(text);
    refused("damaged");
  }
  SECTION("sealed under another master key") {
    crypto::LocalKeyProvider other(std::filesystem::path(k.dir.path()) / "other-vault");
    AuditSigners elsewhere(other, dir);
    try {
      (void)elsewhere.signer_for(acme);
      FAIL("opened under another master key");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::Tampered);
      CHECK_THAT(e.message(), Catch::Contains("acme-bank.signer"));
    }
  }
}

TEST_CASE("audit signers: the platform rotates a tenant's key; after a restart the log verifies with the old and the new key",
          "[pipeline][audit-keys]") {
  TempDir dir;
  const auto data = std::filesystem::path(dir.path()) / "data";
  const TenantId acme("acme-bank");
  std::string old_key;
  std::string new_key;
  {
    pipeline::Platform platform(pipeline_test::echo_options(data));
    pipeline::TenantRegistry registry(platform);
    auto system = platform.system_scope("test-operator", "rotate the audit key");
    registry.onboard(system, tenantai::test_support::roomy_tenant_config("acme-bank", true, {"staff"}));
    old_key = platform.audit_verifier_key(acme);
    new_key = platform.rotate_audit_key(system, acme);
    CHECK(new_key != old_key);
    CHECK(platform.audit_verifier_key(acme) == new_key);
    CHECK(AuditSigners::verifier_key_in(data / "keys" / "audit-signers", acme) == new_key);
  }
  pipeline::Platform platform(pipeline_test::echo_options(data));
  pipeline::TenantRegistry registry(platform);
  auto system = platform.system_scope("test-operator", "restart after rotation");
  auto report = registry.onboard(system, tenantai::test_support::roomy_tenant_config("acme-bank", true, {"staff"}));
  CHECK(report.quarantined.empty());
  for (const auto& key : {old_key, new_key}) {
    auto verified = audit::verify_log(data / "audit", acme, audit::CheckpointVerifier::parse(key).value());
    INFO((verified ? "" : verified.error().message()));
    CHECK(verified.ok());
  }
}
