// A tenant config for restart, backup and crash-style tests: the echo model on the enterprise
// tier with limits no test reaches, an "Admin" (export + offboard) and a "Teller" key with
// fixed secrets (fixed_secret(id + "Admin"), fixed_secret(id + "Teller")).
#pragma once

#include <tenantai/pipeline/tenant_config.h>

#include <string>
#include <vector>

#include "support/test_auth.h"

namespace tenantai::test_support {

inline pipeline::TenantConfig roomy_tenant_config(const std::string& id, bool sealed,
                                                  std::vector<std::string> admin_groups = {"staff"}) {
  pipeline::TenantConfig config{TenantId(id)};
  config.tier = "enterprise";
  config.models.model = "echo-small";
  config.encryption_required = sealed;
  config.quotas.requests_per_minute = 100000;
  config.quotas.tokens_per_minute = 100000000;
  config.budgets.daily = 100'000'000;
  config.api_keys.push_back({"admin", std::move(admin_groups), {"admin:export", "admin:offboard"}, fixed_secret(id + "Admin")});
  config.api_keys.push_back({"teller", {"staff"}, {}, fixed_secret(id + "Teller")});
  return config;
}

}  // namespace tenantai::test_support
