// The tenant lifecycle runs over one list of layers: a host's own layer registered with
// Platform::add_layer is provisioned, exported, verified and erased with the built-in ones; a
// failed onboarding rolls back every layer in reverse order (tier, budget policy, cache
// opt-out, keys included) and leaves the tenant unprovisioned.
#include <catch2/catch.hpp>
#include <tenantai/core/api_key_authenticator.h>
#include <tenantai/pipeline.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "platform_fixture.h"
#include "recording_layer.h"
#include "support/test_auth.h"

using namespace tenantai;
using tenantai::test_support::fixed_secret;
using pipeline_test::RecordingLayer;

namespace {

pipeline::TenantConfig config_of(const std::string& id) {
  pipeline::TenantConfig config{TenantId(id)};
  config.tier = "standard";
  config.models.model = "echo-small";
  config.cache_opt_out = true;
  config.budgets.daily = 5'000'000;
  config.api_keys.push_back({"user", {}, {"admin:offboard", "admin:export"}, fixed_secret(id + "LayerUser")});
  return config;
}

}  // namespace

TEST_CASE("tenant layers: a registered layer takes part in onboarding, export, first use and offboarding",
          "[pipeline][lifecycle]") {
  test_support::TempDir dir;
  std::vector<std::string> journal;
  pipeline::Platform platform(pipeline_test::echo_options(std::filesystem::path(dir.path()) / "data"));
  platform.add_layer(std::make_shared<RecordingLayer>("first", journal));
  platform.add_layer(std::make_shared<RecordingLayer>("second", journal));
  pipeline::TenantRegistry registry(platform);
  pipeline::Pipeline pipeline(platform);
  {
    auto system = platform.system_scope("test", "onboard a tenant with host layers");
    registry.onboard(system, config_of("delta"));
  }
  CHECK(journal == std::vector<std::string>{"first:provision:delta", "second:provision:delta"});

  const auto context = platform.authenticator().authenticate(fixed_secret("deltaLayerUser")).value();
  with_tenant(context, [&](auto scope) { pipeline.ingest(scope, {{"d1", "Doc", "CANARY-delta", {}, {}}}); });
  CHECK(journal.size() == 4);  // first use verified both host layers, in order
  CHECK(journal[2] == "first:verify:delta");
  CHECK(journal[3] == "second:verify:delta");

  const std::filesystem::path out = std::filesystem::path(dir.path()) / "export";
  const auto receipt = with_tenant(context, [&](auto scope) { return scope.release(registry.offboard(scope, out)); });
  CHECK(std::filesystem::exists(out / "first.txt"));
  CHECK(std::filesystem::exists(out / "second.txt"));
  CHECK(std::filesystem::exists(out / "documents.jsonl"));
  // Exported in list order, erased in reverse order.
  const std::vector<std::string> tail(journal.end() - 4, journal.end());
  CHECK(tail == std::vector<std::string>{"first:export:delta", "second:export:delta", "second:erase:delta",
                                         "first:erase:delta"});
  CHECK(receipt.json.find("\"first\":1") != std::string::npos);
  CHECK(receipt.json.find("\"documents\":1") != std::string::npos);
  CHECK(pipeline::verify_erasure_receipt(receipt));
}

TEST_CASE("tenant layers: a failed onboarding rolls every layer back in reverse order", "[pipeline][lifecycle]") {
  test_support::TempDir dir;
  std::vector<std::string> journal;
  pipeline::Platform platform(pipeline_test::echo_options(std::filesystem::path(dir.path()) / "data"));
  platform.add_layer(std::make_shared<RecordingLayer>("first", journal));
  platform.add_layer(std::make_shared<RecordingLayer>("refusing", journal, /*fail_provision=*/true));
  pipeline::TenantRegistry registry(platform);
  auto system = platform.system_scope("test", "onboard a tenant a layer refuses");
  REQUIRE_THROWS_WITH(registry.onboard(system, config_of("epsilon")), Catch::Contains("refusing refuses"));
  CHECK(journal == std::vector<std::string>{"first:provision:epsilon", "refusing:provision:epsilon",
                                            "refusing:rollback:epsilon", "first:rollback:epsilon"});
  // The built-in layers before them were rolled back too (onboarding_rollback_test checks each).
  CHECK_FALSE(platform.tenant_config(TenantId("epsilon")).ok());
  CHECK_FALSE(platform.authenticator().authenticate(fixed_secret("epsilonLayerUser")).ok());
  system.visit(TenantId("epsilon"), [&](auto scope) { CHECK_FALSE(platform.tiers().tier_of(scope.context()).ok()); });
}
