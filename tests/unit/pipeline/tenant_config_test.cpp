#include <catch2/catch.hpp>
#include <tenantai/audit/witness.h>
#include <tenantai/pipeline/tenant_config.h>

#include <fstream>

#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::pipeline;

namespace {
const char* kTwoTenants = R"({"tenants": [
  {"id": "acme-bank", "tier": "enterprise", "models": {"model": "llama-3-8b", "adapters": ["acme-lora-v3"],
   "default_adapter": "acme-lora-v3"}, "budgets": {"daily_usd": 12.5, "monthly_usd": 300},
   "quotas": {"requests_per_minute": 600, "cache_entries": 50}, "encryption_required": true,
   "retention": {"memory_days": 30, "audit_days": 2555}, "prompt_overlay": {"company_name": "Acme Bank"},
   "api_keys": [{"actor": "alice", "groups": ["risk"], "capabilities": ["tool:search"]}]},
  {"id": "globex", "models": {"model": "mistral-7b"}}
]})";
}  // namespace

TEST_CASE("tenant configs parse with tier defaults and integer money", "[pipeline][config]") {
  auto r = parse_tenant_configs(kTwoTenants);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  const auto& acme = (*r)[0];
  CHECK(acme.id == TenantId("acme-bank"));
  CHECK(acme.scheduler_weight == 4);
  CHECK(acme.budgets.daily == MicroUsd{12'500'000});
  CHECK(acme.budgets.monthly == MicroUsd{300'000'000});
  CHECK(acme.quotas.requests_per_minute == 600);
  CHECK(acme.quotas.cache_entries == 50);
  CHECK(acme.quotas.tokens_per_minute == TenantQuotas{}.tokens_per_minute);
  CHECK(acme.encryption_required);
  CHECK(acme.memory_retention_days == 30u);
  CHECK(acme.models.default_adapter == "acme-lora-v3");
  CHECK(acme.prompt_overlay.at("company_name") == "Acme Bank");
  REQUIRE(acme.api_keys.size() == 1);
  CHECK(acme.api_keys[0].groups == std::vector<std::string>{"risk"});
  const auto& globex = (*r)[1];
  CHECK(globex.tier == "standard");
  CHECK(globex.scheduler_weight == 2);
  CHECK_FALSE(globex.budgets.daily.has_value());
  CHECK(globex.display_name == "globex");
}

TEST_CASE("bad tenant configs fail closed with the JSON path in the error", "[pipeline][config]") {
  struct Case {
    const char* json;
    const char* expect;
  };
  for (const auto& c : {
           Case{R"({"tenants": [{"models": {"model": "m"}}]})", "tenants[0].id: is required"},
           Case{R"({"tenants": [{"id": "../x", "models": {"model": "m"}}]})", "tenants[0].id:"},
           Case{R"({"tenants": [{"id": "a"}]})", "tenants[0].models: is required"},
           Case{R"({"tenants": [{"id": "a", "models": {"model": "m"}, "budgets": {"daily_usd": -1}}]})",
                "tenants[0].budgets.daily_usd"},
           Case{R"({"tenants": [{"id": "a", "models": {"model": "m"}, "quotas": {"request_per_minute": 5}}]})",
                "tenants[0].quotas.request_per_minute: unknown field"},
           Case{R"({"tenants": [{"id": "a", "models": {"model": "m", "default_adapter": "b-lora"}}]})",
                "must be one of this tenant's adapters"},
           Case{R"({"tenants": [{"id": "a", "models": {"model": "m"}}, {"id": "a", "models": {"model": "m"}}]})",
                "duplicate tenant id"},
           Case{R"({"tenants": [{"id": "a", "models": {"model": "m"}, "tier": "gold"}]})", "tenants[0].tier"},
           Case{R"({"tenants": {"id": "a"}})", "\"tenants\" array"},
           Case{R"({"tenants": [)", "malformed tenant JSON"},
       }) {
    INFO(c.json);
    auto r = parse_tenant_configs(c.json);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::InvalidArgument);
    CHECK_THAT(r.error().message(), Catch::Contains(c.expect));
  }
}

TEST_CASE("loading a missing tenant file names the file", "[pipeline][config]") {
  test_support::TempDir dir;
  auto r = load_tenant_configs(dir.path() + "/absent.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::StorageFailure);
  CHECK_THAT(r.error().message(), Catch::Contains("absent.json"));
  std::ofstream(dir.path() + "/bad.json") << "{\"tenants\": [{\"id\": 5}]}";
  auto bad = load_tenant_configs(dir.path() + "/bad.json");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message(), Catch::Contains("bad.json: tenants[0].id: must be a string"));
}

TEST_CASE("a tenant names its audit witnesses: url, cosigner key and quorum, checked when parsed", "[pipeline][config]") {
  const std::string key = audit::CosignatureSigner::generate("witness.acme.example/w1").verifier_key();
  const std::string key2 = audit::CosignatureSigner::generate("witness.auditor.example/w2").verifier_key();
  const std::string good = R"({"tenants": [{"id": "a", "models": {"model": "m"}, "audit_witnesses": {"quorum": 1,
      "witnesses": [{"url": "http://127.0.0.1:7380", "key": ")" + key + R"("},
                    {"url": "http://witness.example:8080/tlog/", "key": ")" + key2 + R"("}]}}]})";
  auto parsed = parse_tenant_configs(good);
  REQUIRE(parsed.ok());
  const auto& c = parsed->front();
  REQUIRE(c.audit_witnesses.size() == 2);
  CHECK(c.audit_witness_quorum == 1);
  CHECK(c.audit_witnesses[0].host == "127.0.0.1");
  CHECK(c.audit_witnesses[0].port == 7380);
  CHECK(c.audit_witnesses[0].path_prefix.empty());
  CHECK(c.audit_witnesses[1].host == "witness.example");
  CHECK(c.audit_witnesses[1].path_prefix == "/tlog");
  CHECK(c.audit_witnesses[0].verifier_key == key);

  auto with = [&](const std::string& witnesses) {
    return R"({"tenants": [{"id": "a", "models": {"model": "m"}, "audit_witnesses": )" + witnesses + "}]}";
  };
  const std::string entry = R"({"url": "http://127.0.0.1:7380", "key": ")" + key + R"("})";
  struct Case {
    std::string json;
    std::string expect;
  };
  for (const auto& bad : {
           Case{with(R"({"witnesses": []})"), "audit_witnesses.witnesses: must be a non-empty array"},
           Case{with(R"({"witnesses": [{"url": "https://w:1", "key": "k"}]})"), "url: must start with http://"},
           Case{with(R"({"witnesses": [{"url": "http://w", "key": "k"}]})"), "url: must name a host and a port"},
           Case{with(R"({"witnesses": [{"url": "http://w:99999", "key": "k"}]})"), "url: has no valid port"},
           Case{with(R"({"witnesses": [{"url": "http://w:1", "key": "not-a-key"}]})"), "witnesses[0].key"},
           Case{with(R"({"witnesses": [{"url": "http://w:1"}]})"), "needs \"url\" and \"key\""},
           Case{with(R"({"quorum": 0, "witnesses": [)" + entry + "]}"), "quorum: must be at least 1"},
           Case{with(R"({"quorum": 2, "witnesses": [)" + entry + "]}"), "audit_witnesses.quorum"},
           Case{with(R"({"witnesses": [)" + entry + R"(], "policy": "any"})"), "policy: unknown field"},
       }) {
    INFO(bad.json);
    auto r = parse_tenant_configs(bad.json);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::InvalidArgument);
    CHECK_THAT(r.error().message(), Catch::Contains(bad.expect));
  }
}
