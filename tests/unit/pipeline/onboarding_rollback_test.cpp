// A failed onboarding leaves nothing half-provisioned: not the tier assignment, budget policy
// or cache opt-out either (the first version's rollback forgot those three).
#include <catch2/catch.hpp>
#include <tenantai/inference/echo_model.h>
#include <tenantai/inference/hashing_embedder.h>
#include <tenantai/pipeline.h>

#include "support/error_code.h"
#include "platform_fixture.h"
#include "support/test_auth.h"

using namespace tenantai;
using tenantai::test_support::code_of;
using tenantai::test_support::fixed_secret;

TEST_CASE("a failed onboarding rolls back the tier assignment too, and the tenant can be onboarded again", "[pipeline][lifecycle]") {
  test_support::TempDir dir;
  auto options = pipeline_test::echo_options(std::filesystem::path(dir.path()) / "data");
  pipeline::Platform platform(std::move(options));
  pipeline::TenantRegistry registry(platform);
  auto system = platform.system_scope("test", "onboarding rollback");
  pipeline::TenantConfig first{TenantId("first")};
  first.tier = "enterprise";
  first.models.model = "echo-small";
  first.api_keys.push_back({"user", {}, {}, fixed_secret("rollbackShared")});
  registry.onboard(system, first);

  pipeline::TenantConfig second{TenantId("second")};
  second.tier = "enterprise";
  second.models.model = "echo-small";
  second.cache_opt_out = true;
  second.api_keys.push_back({"user", {}, {}, fixed_secret("rollbackShared")});  // taken: the last step fails
  CHECK(code_of([&] { registry.onboard(system, second); }) == ErrorCode::AlreadyExists);
  system.visit(TenantId("second"), [&](auto scope) {
    CHECK(code_of([&] { (void)platform.tiers().tier_of(scope.context()).value(); }) == ErrorCode::NotFound);
  });
  CHECK_FALSE(platform.tenant_config(TenantId("second")).ok());
  second.api_keys.front().secret = fixed_secret("rollbackOwn");
  const auto report = registry.onboard(system, second);
  CHECK(report.key_ids.size() == 1);
}
