// A platform that survives restarts and one tenant's failure: every acknowledged document is
// back after a restart (sealed or not, ACLs kept), and a tenant whose corpus or audit log was
// damaged on disk is quarantined (TenantUnavailable, named) while the others serve.
#include <catch2/catch.hpp>
#include <tenantai/audit/verify.h>
#include <tenantai/core.h>
#include <tenantai/corpus/file_corpus_store.h>
#include <tenantai/inference/echo_model.h>
#include <tenantai/inference/hashing_embedder.h>
#include <tenantai/pipeline.h>

#include <cctype>
#include <filesystem>
#include <fstream>

#include "core/durable_file.h"
#include "support/error_code.h"
#include "platform_fixture.h"
#include "support/tenant_configs.h"
#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::pipeline;
using tenantai::test_support::code_of;
using tenantai::test_support::TempDir;

namespace {

using tenantai::test_support::fixed_secret;

TenantConfig config_of(const std::string& id, bool sealed) {
  return tenantai::test_support::roomy_tenant_config(id, sealed, {"staff", "risk"});
}

// One process lifetime of the platform on a data directory that outlives it.
struct Life {
  std::unique_ptr<Platform> platform;
  std::unique_ptr<TenantRegistry> registry;
  std::unique_ptr<Pipeline> pipeline;
  std::map<std::string, OnboardReport> reports;

  explicit Life(const std::filesystem::path& data_dir) {
    auto options = pipeline_test::echo_options(data_dir);
    platform = std::make_unique<Platform>(std::move(options));
    registry = std::make_unique<TenantRegistry>(*platform);
    pipeline = std::make_unique<Pipeline>(*platform);
    auto system = platform->system_scope("test-operator", "provision restart tenants");
    for (const auto& [id, sealed] : {std::pair{"acme-bank", true}, std::pair{"globex", false}}) {
      reports.insert_or_assign(id, registry->onboard(system, config_of(id, sealed)));
    }
  }
  TenantContext login(const std::string& tenant, const std::string& actor) const {
    auto context = platform->authenticator().authenticate(fixed_secret(tenant + actor));
    if (!context) throw context.error();
    return *context;
  }
  void ingest(const std::string& tenant, const std::vector<IngestDocument>& documents) {
    with_tenant(login(tenant, "Admin"), [&](auto scope) { pipeline->ingest(scope, documents); });
  }
  std::string query(const std::string& tenant, const std::string& actor, const std::string& text) {
    auto passages = with_tenant(login(tenant, actor), [&](auto scope) {
      return scope.release(pipeline->query(scope, {text, 8, {}}));
    });
    std::string out;
    for (const auto& p : passages) out += p.id + " " + p.text + "\n";
    return out;
  }
};

std::vector<IngestDocument> documents_of(const std::string& tenant) {
  return {{tenant + "-policy", "Refund policy", "Refunds within 14 days. CANARY-" + tenant + "-PUBLIC", {}, {}},
          {tenant + "-risk", "Risk memo", "Risk limits memo CANARY-" + tenant + "-RISK", {"risk"}, {}}};
}

void flip_byte(const std::filesystem::path& path, std::size_t offset) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  file.get(c);
  file.seekp(static_cast<std::streamoff>(offset));
  file.put(static_cast<char>(c ^ 0x10));
}

}  // namespace

TEST_CASE("restart: every acknowledged document is back, searchable, with its ACL, for sealed and clear tenants", "[pipeline][restart]") {
  TempDir dir;
  const auto data = std::filesystem::path(dir.path()) / "data";
  {
    Life first(data);
    first.ingest("acme-bank", documents_of("acme-bank"));
    first.ingest("globex", documents_of("globex"));
    first.ingest("globex", documents_of("globex"));  // a client's retry: nothing changes
  }
  Life second(data);
  for (const std::string tenant : {"acme-bank", "globex"}) {
    const auto admin = second.query(tenant, "Admin", "refund policy risk limits memo");
    INFO(tenant << ": " << admin);
    CHECK(admin.find("CANARY-" + tenant + "-PUBLIC") != std::string::npos);
    CHECK(admin.find("CANARY-" + tenant + "-RISK") != std::string::npos);
    const auto teller = second.query(tenant, "Teller", "refund policy risk limits memo");
    CHECK(teller.find("CANARY-" + tenant + "-PUBLIC") != std::string::npos);
    CHECK(teller.find("CANARY-" + tenant + "-RISK") == std::string::npos);  // the ACL came back too
  }
  CHECK(second.query("globex", "Admin", "refund policy").find("acme") == std::string::npos);
  // The sealed tenant's journal holds none of its text.
  std::ifstream in(data / "corpus" / "acme-bank.corpus", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  CHECK(bytes.find("CANARY-acme-bank") == std::string::npos);
  // The restore is recorded in the tenant's own log, which still verifies.
  auto report = audit::verify_log(data / "audit", TenantId("acme-bank"), second.platform->audit_verifier(TenantId("acme-bank")));
  CHECK(report.ok());
}

TEST_CASE("restart: a corrupt record inside one tenant's corpus quarantines that tenant, named, and no other", "[pipeline][restart]") {
  TempDir dir;
  const auto data = std::filesystem::path(dir.path()) / "data";
  {
    Life first(data);
    first.ingest("acme-bank", documents_of("acme-bank"));
    first.ingest("acme-bank", {{"acme-bank-more", "More", "More text", {}, {}}});
    first.ingest("globex", documents_of("globex"));
  }
  flip_byte(data / "corpus" / "acme-bank.corpus", 60);  // inside the first record, more behind it
  Life second(data);
  try {
    second.query("acme-bank", "Admin", "refund policy");
    FAIL("a quarantined tenant served a query");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::TenantUnavailable);
    CHECK(std::string(e.what()).find("acme-bank") != std::string::npos);
  }
  CHECK(code_of([&] { second.ingest("acme-bank", {{"x", "x", "x", {}, {}}}); }) == ErrorCode::TenantUnavailable);
  CHECK(second.query("globex", "Admin", "refund policy").find("CANARY-globex-PUBLIC") != std::string::npos);
  auto system = second.platform->system_scope("test-operator", "list quarantined tenants");
  const auto quarantined = second.platform->quarantined_tenants(system);
  REQUIRE(quarantined.size() == 1);
  CHECK(quarantined[0].tenant == TenantId("acme-bank"));
  CHECK(quarantined[0].reason.find("acme-bank.corpus") != std::string::npos);
}

TEST_CASE("restart: a flipped byte in one tenant's audit log quarantines it while the others start and serve", "[pipeline][restart]") {
  TempDir dir;
  const auto data = std::filesystem::path(dir.path()) / "data";
  {
    Life first(data);
    first.ingest("acme-bank", documents_of("acme-bank"));
    first.ingest("globex", documents_of("globex"));
  }
  flip_byte(data / "audit" / "acme-bank.log", 40);
  Life second(data);  // starts: no exception, every tenant onboarded
  CHECK_FALSE(second.reports.at("acme-bank").quarantined.empty());
  CHECK(second.reports.at("globex").quarantined.empty());
  CHECK(code_of([&] { second.query("acme-bank", "Admin", "refund policy"); }) == ErrorCode::TenantUnavailable);
  CHECK(second.query("globex", "Admin", "refund policy").find("CANARY-globex-PUBLIC") != std::string::npos);
}

TEST_CASE("restart: a second platform on a data_dir a live platform holds is refused, and starts once it is gone",
          "[pipeline][restart]") {
  TempDir dir;
  const auto data = std::filesystem::path(dir.path()) / "data";
  auto first = std::make_unique<Life>(data);
  first->ingest("globex", documents_of("globex"));
  try {
    pipeline::Platform intruder(pipeline_test::echo_options(data));
    FAIL("two platforms opened one data_dir");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::Unavailable);
    CHECK(std::string(e.what()).find(data.string()) != std::string::npos);
  }
  first.reset();
  Life second(data);
  CHECK(second.query("globex", "Admin", "refund policy").find("CANARY-globex-PUBLIC") != std::string::npos);
}

TEST_CASE("restart: a damaged memory database quarantines only its tenant", "[pipeline][restart]") {
  TempDir dir;
  const auto data = std::filesystem::path(dir.path()) / "data";
  {
    Life first(data);
    for (const std::string tenant : {"acme-bank", "globex"}) {
      first.ingest(tenant, documents_of(tenant));
      with_tenant(first.login(tenant, "Admin"), [&](auto scope) {
        ChatRequest chat;
        chat.messages = {{"user", "Remember CANARY-" + tenant + "-MEMORY"}};
        chat.session = "s1";
        (void)scope.release(first.pipeline->chat(scope, chat));
      });
    }
  }
  std::filesystem::path damaged;
  for (const auto& entry : std::filesystem::directory_iterator(data / "memory")) {
    const auto name = entry.path().filename().string();
    if (name.find("acme") != std::string::npos && name.find("-wal") == std::string::npos) damaged = entry.path();
  }
  REQUIRE_FALSE(damaged.empty());
  {
    std::fstream file(damaged, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(0);  // the database header: the file no longer reads as a SQLite database
    const std::string junk(100, '\x5a');
    file.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  Life second(data);
  try {
    second.query("acme-bank", "Admin", "refund policy");
    FAIL("a tenant with a damaged memory database served");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::TenantUnavailable);
    CHECK(std::string(e.what()).find(damaged.filename().string()) != std::string::npos);
  }
  CHECK(second.query("globex", "Admin", "refund policy").find("CANARY-globex-PUBLIC") != std::string::npos);
}

TEST_CASE("restart: a damaged data-key keyring quarantines only its tenant, naming the file", "[pipeline][restart]") {
  // acme-bank's corpus is sealed, globex's is clear (only its audit bodies are sealed).
  const std::string damaged = GENERATE(as<std::string>{}, "acme-bank", "globex");
  const std::string other = damaged == "acme-bank" ? "globex" : "acme-bank";
  TempDir dir;
  const auto data = std::filesystem::path(dir.path()) / "data";
  {
    Life first(data);
    for (const std::string tenant : {"acme-bank", "globex"}) first.ingest(tenant, documents_of(tenant));
  }
  const auto keyring = data / "keys" / "data-keys" / (damaged + ".keyring");
  REQUIRE(std::filesystem::exists(keyring));
  {
    // One hex digit of the wrapped data key changes to another hex digit: the file still parses,
    // the key no longer opens.
    std::string text = tenantai::detail::read_file(keyring);
    auto last = text.find_last_not_of("\n");
    REQUIRE(std::isxdigit(static_cast<unsigned char>(text[last])));
    text[last] = text[last] == '0' ? '1' : '0';
    std::ofstream(keyring, std::ios::binary | std::ios::trunc) << text;
  }
  Life second(data);
  try {
    second.query(damaged, "Admin", "refund policy");
    FAIL("a tenant whose data key does not open served");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::TenantUnavailable);
    CHECK(std::string(e.what()).find(damaged + ".keyring") != std::string::npos);
  }
  CHECK(code_of([&] { second.query(damaged, "Teller", "refund policy"); }) == ErrorCode::TenantUnavailable);
  CHECK(second.query(other, "Admin", "refund policy").find("CANARY-" + other + "-PUBLIC") != std::string::npos);
}
