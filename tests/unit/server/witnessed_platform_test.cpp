// A tenant that names its own witness in its config: the platform publishes its audit
// checkpoints through it, and after a restart onto a log rolled back on disk the witness's
// answer quarantines that tenant (TenantUnavailable, named) while the others serve.
#include <catch2/catch.hpp>
#include <tenantai/audit/witness.h>
#include <tenantai/core.h>
#include <tenantai/pipeline.h>
#include <tenantai/server/http_server.h>
#include <tenantai/server/http_witness.h>

#include <thread>

#include "unit/pipeline/platform_fixture.h"
#include "support/error_code.h"
#include "support/tenant_configs.h"
#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::pipeline;
using tenantai::test_support::fixed_secret;
using tenantai::test_support::TempDir;

namespace {

// The tenant's witness, on loopback, trusting the log key it is given.
struct TenantWitness {
  TenantWitness(const TenantId& tenant, const std::string& log_key)
      : logs{{audit::origin_for(tenant), log_key}},
        service(audit::CosignatureSigner::generate("witness.acme.example/w1"), logs,
                std::filesystem::path(dir.path()) / "state") {
    server::add_witness_routes(server, service, logs);
    server.start();
  }
  std::vector<audit::WitnessedLog> logs;  // before service, which is built from it
  TempDir dir;
  audit::WitnessService service;
  server::HttpServer server;
};

struct Life {
  std::unique_ptr<Platform> platform;
  std::unique_ptr<TenantRegistry> registry;
  std::unique_ptr<Pipeline> pipeline;

  explicit Life(const std::filesystem::path& data_dir) {
    auto options = pipeline_test::echo_options(data_dir);
    options.witness_connector = server::http_witness_connector(std::chrono::milliseconds(2000));
    platform = std::make_unique<Platform>(std::move(options));
    registry = std::make_unique<TenantRegistry>(*platform);
    pipeline = std::make_unique<Pipeline>(*platform);
  }
  void onboard(const std::function<void(TenantConfig&)>& witness_config) {
    auto system = platform->system_scope("test-operator", "provision witnessed tenants");
    for (const std::string id : {"acme-bank", "globex"}) {
      auto config = tenantai::test_support::roomy_tenant_config(id, true, {"staff"});
      if (id == "acme-bank") witness_config(config);
      registry->onboard(system, config);
    }
  }
  TenantContext login(const std::string& tenant) const {
    auto context = platform->authenticator().authenticate(fixed_secret(tenant + "Admin"));
    if (!context) throw context.error();
    return *context;
  }
  void ingest(const std::string& tenant, const std::string& id) {
    with_tenant(login(tenant), [&](auto scope) { pipeline->ingest(scope, {{id, "Doc " + id, "Text of " + id, {}, {}}}); });
  }
  void checkpoint(const std::string& tenant) {
    with_tenant(login(tenant), [&](auto scope) { (void)platform->audit().checkpoint(scope); });
  }
  bool publish(const std::string& tenant) {
    return with_tenant(login(tenant), [&](auto scope) { return platform->audit().publish_now(scope); });
  }
};

}  // namespace

TEST_CASE("witnessed platform: a tenant's witness publishes its checkpoints; a rollback on disk quarantines only that tenant",
          "[pipeline][witness]") {
  TempDir dir;
  const auto data = std::filesystem::path(dir.path()) / "data";
  std::unique_ptr<TenantWitness> witness;
  auto name_witness = [&](TenantConfig& config) {
    config.audit_witnesses.push_back({"127.0.0.1", witness->server.port(), "", witness->service.signer().verifier_key()});
    config.audit_witness_quorum = 1;
  };
  std::uint64_t first_size = 0;
  {
    Life first(data);
    // The witness must know the tenant log's key, which the platform creates on first use.
    witness = std::make_unique<TenantWitness>(TenantId("acme-bank"), first.platform->audit_verifier_key(TenantId("acme-bank")));
    first.onboard(name_witness);
    first.ingest("acme-bank", "a1");
    REQUIRE(first.publish("acme-bank"));
    first_size = with_tenant(first.login("acme-bank"), [&](auto scope) {
      return scope.release(first.platform->audit().published_checkpoint(scope)).size;
    });
    first.ingest("acme-bank", "a2");
    first.checkpoint("acme-bank");  // signing is open once the start-up check passed
    first.ingest("globex", "g1");
    REQUIRE(first.publish("acme-bank"));
    const auto cp = with_tenant(first.login("acme-bank"),
                                [&](auto scope) { return scope.release(first.platform->audit().published_checkpoint(scope)); });
    CHECK(cp.size > first_size);
    auto key = audit::CosignatureVerifier::parse(witness->service.signer().verifier_key()).value();
    CHECK(key.verify(cp.note).ok());
    CHECK_FALSE(first.publish("globex"));  // unwitnessed: nothing to publish
  }
  // Whoever holds the disk cuts acme-bank's log and checkpoints back to the first published
  // checkpoint (a valid older log) and restarts the server.
  {
    audit::FileLogStorage storage(data / "audit");
    auto streams = storage.open(TenantId("acme-bank"), audit::OpenMode::ReadWrite);
    const auto notes = streams->read_checkpoints().notes;
    std::size_t keep = 0;  // through the last entry of the first published size
    for (std::size_t i = 0; i < notes.size(); ++i) {
      if (notes[i].find("\n" + std::to_string(first_size) + "\n") != std::string::npos) keep = i + 1;
    }
    REQUIRE(keep > 0);
    streams->truncate_checkpoints(keep);
    streams->truncate_records(first_size);
  }
  Life second(data);
  second.onboard(name_witness);
  // The start-up check runs in the background; publishing now asks the witness at once.
  CHECK(tenantai::test_support::code_of([&] { second.publish("acme-bank"); }) != ErrorCode::Internal);
  bool quarantined = false;
  for (int i = 0; i < 100 && !quarantined; ++i) {
    auto system = second.platform->system_scope("test-operator", "check quarantine");
    for (const auto& q : second.platform->quarantined_tenants(system)) {
      if (q.tenant.str() == "acme-bank") {
        quarantined = true;
        CHECK_THAT(q.reason, Catch::Contains("rolled back"));
      }
    }
    if (!quarantined) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(quarantined);
  CHECK(tenantai::test_support::code_of([&] { second.ingest("acme-bank", "a3"); }) == ErrorCode::TenantUnavailable);
  second.ingest("globex", "g2");  // the other tenant keeps serving
}
