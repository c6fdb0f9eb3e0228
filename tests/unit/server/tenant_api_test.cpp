// TenantApi over a real HttpServer on 127.0.0.1: authentication, per-tenant isolation of every
// route, bad input (malformed JSON, unknown key, oversize body, slow client, another tenant's
// ids), and the server keeps serving through all of it.
#include <catch2/catch.hpp>
#include <tenantai/pipeline.h>
#include <tenantai/server/http_server.h>
#include <tenantai/server/tenant_api.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/api_server.h"
#include "support/http_client.h"
#include "support/test_auth.h"

using namespace tenantai;
using nlohmann::json;
using tenantai::test_support::http_call;
using tenantai::test_support::raw_exchange;

namespace {

using tenantai::test_support::fixed_secret;

using Server = test_support::ApiServer;

std::string code_of(const test_support::HttpResult& r) {
  auto body = json::parse(r.body, nullptr, false);
  return body.is_object() && body.contains("error") ? body["error"].value("code", "") : "";
}

json doc(const std::string& id, const std::string& text) { return {{"id", id}, {"title", id}, {"text", text}}; }

}  // namespace

TEST_CASE("tenant api: each key sees only its own tenant's documents, answers, usage and audit", "[server][api]") {
  Server s;
  REQUIRE(s.call(fixed_secret("alphaAdmin"), "POST", "/v1/documents", {{"documents", {doc("shared-id", "alpha secret ALPHA-CANARY-1")}}}).status == 200);
  REQUIRE(s.call(fixed_secret("betaAdmin"), "POST", "/v1/documents", {{"documents", {doc("shared-id", "beta secret BETA-CANARY-2")}}}).status == 200);

  auto q = s.call(fixed_secret("alphaViewer"), "POST", "/v1/query", {{"query", "secret"}, {"k", 4}});
  REQUIRE(q.status == 200);
  CHECK(q.body.find("ALPHA-CANARY-1") != std::string::npos);
  CHECK(q.body.find("BETA-CANARY-2") == std::string::npos);

  auto chat = s.call(fixed_secret("betaViewer"), "POST", "/v1/chat",
                     {{"messages", {{{"role", "user"}, {"content", "what is the secret?"}}}}, {"max_tokens", 500}});
  REQUIRE(chat.status == 200);
  auto body = json::parse(chat.body);
  CHECK(body["object"] == "chat.completion");
  CHECK(body["tenantai"]["tenant"] == "beta");
  const std::string answer = body["choices"][0]["message"]["content"];
  CHECK(answer.find("BETA-CANARY-2") != std::string::npos);
  CHECK(answer.find("ALPHA-CANARY-1") == std::string::npos);
  CHECK(body["usage"]["total_tokens"].get<int>() > 0);

  auto usage = json::parse(s.call(fixed_secret("alphaAdmin"), "GET", "/v1/usage").body);
  CHECK(usage["tenant"] == "alpha");
  auto audit = s.call(fixed_secret("betaAdmin"), "GET", "/v1/audit?first=0&count=50");
  REQUIRE(audit.status == 200);
  CHECK(json::parse(audit.body)["tenant"] == "beta");
  CHECK(audit.body.find("\"alpha\"") == std::string::npos);
  CHECK(s.call(fixed_secret("betaViewer"), "GET", "/v1/audit").status == 403);  // no admin:export
  auto checkpoint =
      json::parse(s.call(fixed_secret("alphaViewer"), "GET", "/v1/audit/checkpoint", nullptr, {{"Accept", "application/json"}}).body);
  CHECK(checkpoint["checkpoint"].get<std::string>().find("tenantai.audit/alpha") != std::string::npos);
}

TEST_CASE("tenant api: bad input gets the right status and the server keeps serving", "[server][api][concurrency]") {
  Server s;
  const auto admin = fixed_secret("alphaAdmin");
  CHECK(http_call(s.port, "POST", "/v1/query", R"({"query":"x"})").status == 401);  // no key
  auto unknown = s.call(fixed_secret("nobody"), "POST", "/v1/query", {{"query", "x"}});
  CHECK(unknown.status == 401);
  CHECK(code_of(unknown) == "Unauthenticated");
  auto malformed = http_call(s.port, "POST", "/v1/chat", "{\"messages\": [", {{"Authorization", "Bearer " + admin}});
  CHECK(malformed.status == 400);
  CHECK(code_of(malformed) == "InvalidArgument");
  CHECK(s.call(admin, "POST", "/v1/chat", {{"messages", json::array()}}).status == 400);
  CHECK(s.call(admin, "POST", "/v1/chat", {{"messages", {{{"role", "user"}, {"content", 42}}}}}).status == 400);
  CHECK(s.call(admin, "POST", "/v1/query", {{"query", "x"}, {"k", -1}}).status == 400);
  // Over the tenant's own request limit (8 KiB) but under the server's body limit.
  auto big = s.call(admin, "POST", "/v1/chat", {{"messages", {{{"role", "user"}, {"content", std::string(20000, 'a')}}}}});
  CHECK(big.status == 400);
  CHECK(big.body.find("exceeds the tenant's limit") != std::string::npos);
  // Over the server's body limit: refused before parsing.
  auto huge = http_call(s.port, "POST", "/v1/documents", std::string(100 << 10, 'x'), {{"Authorization", "Bearer " + admin}});
  CHECK(huge.status == 413);
  // Another tenant's adapter and another tenant's ids.
  auto adapter = s.call(admin, "POST", "/v1/chat", {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"adapter", "beta-lora"}});
  CHECK(adapter.status >= 400);
  CHECK(adapter.status < 500);
  // A slow client is cut off without blocking others.
  std::string slow;
  std::thread slow_client([&] {
    slow = raw_exchange(s.port, "POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"q", 3000);
  });
  CHECK(s.call(admin, "POST", "/v1/query", {{"query", "still serving"}}).status == 200);
  slow_client.join();
  CHECK(slow.find("408") != std::string::npos);
  // /metrics is the operator's: tenant keys are refused, the operator token works.
  CHECK(s.call(admin, "GET", "/metrics").status == 401);
  auto metrics = s.call("op-token", "GET", "/metrics");
  CHECK(metrics.status == 200);
  CHECK(s.call(admin, "GET", "/healthz").status == 200);
}

TEST_CASE("tenant api: export and offboarding through HTTP; the other tenant is untouched", "[server][api]") {
  Server s;
  s.call(fixed_secret("alphaAdmin"), "POST", "/v1/documents", {{"documents", {doc("a1", "alpha ALPHA-CANARY-1")}}});
  s.call(fixed_secret("betaAdmin"), "POST", "/v1/documents", {{"documents", {doc("b1", "beta BETA-CANARY-2")}}});
  CHECK(s.call(fixed_secret("alphaViewer"), "POST", "/v1/tenant/export").status == 403);
  auto exported = s.call(fixed_secret("alphaAdmin"), "POST", "/v1/tenant/export");
  REQUIRE(exported.status == 200);
  CHECK(json::parse(exported.body)["files"].contains("audit.bundle.jsonl"));
  CHECK(s.call(fixed_secret("alphaViewer"), "DELETE", "/v1/tenant").status == 403);
  auto offboarded = s.call(fixed_secret("alphaAdmin"), "DELETE", "/v1/tenant");
  REQUIRE(offboarded.status == 200);
  auto receipt_json = json::parse(offboarded.body);
  pipeline::ErasureReceipt receipt{receipt_json["receipt"].dump(), receipt_json["signature"], receipt_json["verifier_key"]};
  CHECK(pipeline::verify_erasure_receipt(receipt));
  CHECK(s.call(fixed_secret("alphaAdmin"), "POST", "/v1/query", {{"query", "alpha"}}).status == 401);
  auto beta = s.call(fixed_secret("betaViewer"), "POST", "/v1/query", {{"query", "beta"}});
  CHECK(beta.status == 200);
  CHECK(beta.body.find("BETA-CANARY-2") != std::string::npos);
}

TEST_CASE("a rate-limited request gets 429 with Retry-After and the other tenants are still served", "[server][api]") {
  Server s;
  {
    SystemScope system(s.platform->access_recorder(), "test", "provision a tightly limited tenant");
    pipeline::TenantConfig config{TenantId("gamma")};
    config.tier = "standard";
    config.models.model = "echo-small";
    config.quotas.requests_per_minute = 2;  // bucket of 2, refilled one request per 30 s
    config.api_keys.push_back({"user", {"staff"}, {}, fixed_secret("gammaUser")});
    s.registry->onboard(system, config);
  }
  const json query = {{"query", "anything"}, {"k", 2}};
  REQUIRE(s.call(fixed_secret("gammaUser"), "POST", "/v1/query", query).status == 200);
  REQUIRE(s.call(fixed_secret("gammaUser"), "POST", "/v1/query", query).status == 200);
  auto limited = s.call(fixed_secret("gammaUser"), "POST", "/v1/query", query);
  REQUIRE(limited.status == 429);
  CHECK(code_of(limited) == "RateLimited");
  REQUIRE(limited.headers.count("retry-after") == 1);
  const int seconds = std::stoi(limited.headers["retry-after"]);
  CHECK(seconds >= 1);
  CHECK(seconds <= 30);
  const auto body = json::parse(limited.body);
  const long long ms = body["error"].value("retry_after_ms", 0LL);
  CHECK(ms > 0);
  CHECK((ms + 999) / 1000 == seconds);
  // Another tenant's bucket is its own; an error without a hint has no header.
  CHECK(s.call(fixed_secret("alphaViewer"), "POST", "/v1/query", query).status == 200);
  auto unauthenticated = s.call(fixed_secret("nobody"), "POST", "/v1/query", query);
  CHECK(unauthenticated.status == 401);
  CHECK(unauthenticated.headers.count("retry-after") == 0);
}

// Findings 2 and 5 of the adversarial review, over HTTP (docs/security-review.md).
TEST_CASE("tenant api: a staff actor cannot overwrite or plant risk documents (403), a risk actor can", "[server][api][isolation_holes]") {
  Server s;
  {
    SystemScope system(s.platform->access_recorder(), "test", "provision an ACL tenant");
    pipeline::TenantConfig config{TenantId("delta")};
    config.tier = "enterprise";
    config.models.model = "echo-small";
    config.api_keys.push_back({"risk-officer", {"risk", "staff"}, {}, fixed_secret("deltaRisk")});
    config.api_keys.push_back({"teller", {"staff"}, {}, fixed_secret("deltaTeller")});
    s.registry->onboard(system, config);
  }
  json memo = doc("delta-risk-memo", "risk memo DELTA-RISK-CANARY");
  memo["acl_groups"] = {"risk"};
  REQUIRE(s.call(fixed_secret("deltaRisk"), "POST", "/v1/documents", {{"documents", {memo}}}).status == 200);
  json forged = doc("delta-risk-memo", "ATTACKER wire the funds");
  forged["acl_groups"] = {"risk"};
  auto overwrite = s.call(fixed_secret("deltaTeller"), "POST", "/v1/documents", {{"documents", {forged}}});
  CHECK(overwrite.status == 403);
  CHECK(code_of(overwrite) == "PermissionDenied");
  json planted = doc("delta-risk-new", "ATTACKER new risk policy");
  planted["acl_groups"] = {"risk"};
  CHECK(s.call(fixed_secret("deltaTeller"), "POST", "/v1/documents", {{"documents", {planted}}}).status == 403);
  CHECK(s.call(fixed_secret("deltaTeller"), "DELETE", "/v1/documents?id=delta-risk-memo").status == 403);
  auto seen = s.call(fixed_secret("deltaRisk"), "POST", "/v1/query", {{"query", "risk memo attacker policy"}, {"k", 8}});
  REQUIRE(seen.status == 200);
  CHECK(seen.body.find("DELTA-RISK-CANARY") != std::string::npos);
  CHECK(seen.body.find("ATTACKER") == std::string::npos);
  auto removed = s.call(fixed_secret("deltaRisk"), "DELETE", "/v1/documents?id=delta-risk-memo");
  CHECK(removed.status == 200);
  CHECK(s.call(fixed_secret("deltaRisk"), "POST", "/v1/query", {{"query", "risk memo"}, {"k", 8}}).body.find("DELTA-RISK-CANARY") ==
        std::string::npos);
}

TEST_CASE("tenant api: two Authorization headers are a 400, never served as either tenant", "[server][api][isolation_holes]") {
  Server s;
  s.call(fixed_secret("betaAdmin"), "POST", "/v1/documents", {{"documents", {doc("b1", "beta BETA-CANARY-2")}}});
  const std::string request = "POST /v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + fixed_secret("alphaViewer") +
                              "\r\nAuthorization: Bearer " + fixed_secret("betaViewer") +
                              "\r\nContent-Type: application/json\r\nContent-Length: 17\r\nConnection: close\r\n\r\n"
                              "{\"query\":\"beta\"}\n";
  const std::string reply = raw_exchange(s.port, request);
  INFO(reply);
  CHECK(reply.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(reply.find("BETA-CANARY-2") == std::string::npos);
}
