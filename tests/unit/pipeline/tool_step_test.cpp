// The search_docs tool is a step of the chat that called it: its retrieval adds no second
// admission, meter record or audit event (it used to build a Pipeline and run a whole query).
#include <catch2/catch.hpp>
#include <tenantai/inference/echo_model.h>
#include <tenantai/inference/hashing_embedder.h>
#include <tenantai/pipeline.h>

#include "platform_fixture.h"
#include "support/test_auth.h"

using namespace tenantai;

TEST_CASE("a tool call inside a chat is one request: one meter record, no extra retrieve event", "[pipeline][tools]") {
  test_support::TempDir dir;
  auto options = pipeline_test::echo_options(std::filesystem::path(dir.path()) / "data");
  pipeline::Platform platform(std::move(options));
  pipeline::TenantRegistry registry(platform);
  pipeline::Pipeline pipeline(platform);
  std::string secret = "tai_toolStepUser";
  secret.resize(47, '0');
  {
    auto system = platform.system_scope("test", "provision the tool-step tenant");
    pipeline::TenantConfig config{TenantId("acme")};
    config.tier = "enterprise";
    config.models.model = "echo-small";
    config.api_keys.push_back({"user", {"staff"}, {"tool:search_docs"}, secret});
    registry.onboard(system, config);
  }
  const auto context = platform.authenticator().authenticate(secret).value();
  with_tenant(context, [&](auto scope) {
    pipeline.ingest(scope, {{"policy", "Refund policy", "Refunds are paid within 14 days.", {}, {}},
                            {"howto", "How to look things up",
                             "TOOL_CALL {\"tool\": \"search_docs\", \"arguments\": {\"query\": \"refund\"}}", {}, {}}});
  });
  auto retrieve_events = [&] {
    std::size_t n = 0;
    with_tenant(context, [&](auto scope) {
      for (const auto& r : scope.release(platform.audit().read(scope, 0, 10000))) {
        if (r.event && r.event->operation == audit::Operation::Retrieve) ++n;
      }
    });
    return n;
  };
  const auto before = retrieve_events();
  const auto answer = with_tenant(context, [&](auto scope) {
    pipeline::ChatRequest chat;
    chat.messages = {{"user", "How do I look up the refund policy?"}};
    chat.max_tokens = 2000;
    chat.use_cache = false;
    return scope.release(pipeline.chat(scope, chat));
  });
  REQUIRE_FALSE(answer.tool_results.empty());  // the model asked for the tool and it ran
  CHECK(answer.tool_results.front().output.dump().find("policy") != std::string::npos);
  CHECK(retrieve_events() == before);  // no audited query inside the chat
  const auto totals = with_tenant(context, [&](auto scope) { return scope.release(platform.meter().totals(scope)); });
  CHECK(totals.requests == 1);  // the chat, and nothing else
}
