// The Pipeline, TenantRegistry and TenantApi each depend on the narrow set of layers they use
// (PipelineLayers, RegistryLayers, TenantApiLayers), so they run here on fakes and in-memory
// parts wired by hand, without a Platform: a fake tenant book, a corpus and a model that fail on
// demand, an in-memory audit storage, a fake authenticator.
#include <catch2/catch.hpp>
#include <tenantai/core/api_key_authenticator.h>
#include <tenantai/crypto/local_key_provider.h>
#include <tenantai/pipeline/tenant_registry.h>
#include <tenantai/server/tenant_api.h>

#include <algorithm>
#include <map>

#include "fake_layers.h"
#include "recording_layer.h"
#include "support/error_code.h"
#include "support/http_client.h"

using namespace tenantai;
using fake_layers::FakeLayers;
using tenantai::test_support::code_of;
using tenantai::test_support::context_for;
using pipeline_test::RecordingLayer;

namespace {

pipeline::ChatRequest question(std::string text) {
  pipeline::ChatRequest request;
  request.messages = {{"user", std::move(text)}};
  request.k = 0;
  request.use_cache = false;
  return request;
}

std::size_t ingest_one(pipeline::Pipeline& pipeline, const std::string& tenant, const std::string& id,
                       const std::string& text) {
  return with_tenant(context_for(tenant, "writer"), [&](auto scope) {
    return pipeline.ingest(scope, {{id, "title", text, {}, {}}});
  });
}

std::vector<pipeline::Passage> search(pipeline::Pipeline& pipeline, const std::string& tenant, const std::string& text) {
  return with_tenant(context_for(tenant, "reader"), [&](auto scope) {
    return scope.release(pipeline.query(scope, {text, 4, {}}), "test.query");
  });
}

}  // namespace

TEST_CASE("a Pipeline runs on hand-wired layers, without a Platform", "[pipeline][narrow]") {
  FakeLayers fakes;
  fakes.provision("acme");
  pipeline::Pipeline pipeline(fakes.layers());

  REQUIRE(ingest_one(pipeline, "acme", "doc-1", "the acme canary CANARY-ACME-1 lives here") == 1);
  CHECK(fakes.corpus.documents_of(TenantId("acme")) == 1);
  auto passages = search(pipeline, "acme", "canary");
  REQUIRE(passages.size() == 1);
  CHECK(passages.front().text.find("CANARY-ACME-1") != std::string::npos);

  auto answer = with_tenant(context_for("acme", "alice"), [&](auto scope) {
    return scope.release(pipeline.chat(scope, question("hello")), "test.chat");
  });
  CHECK(answer.text.find("user: hello") != std::string::npos);
  CHECK(fakes.backend.calls == 1);
  const auto events = fakes.audit_events("acme");
  REQUIRE(events.size() == 3);  // the write, the retrieval, the chat
  CHECK(events[0].operation == audit::Operation::Write);
  CHECK(events[1].operation == audit::Operation::Retrieve);
  CHECK(events[2].operation == audit::Operation::Infer);
  CHECK(events[2].status == "ok");
  CHECK(fakes.directory.readiness_checks >= 3);  // every request asked the directory first
}

TEST_CASE("a tenant the directory does not know is refused before any layer is touched", "[pipeline][narrow]") {
  FakeLayers fakes;
  fakes.provision("acme");
  pipeline::Pipeline pipeline(fakes.layers());
  CHECK(code_of([&] { (void)with_tenant(context_for("ghost", "alice"), [&](auto scope) { return scope.release(pipeline.chat(scope, question("hi")), "t"); }); }) == ErrorCode::NotFound);
  CHECK(code_of([&] { (void)ingest_one(pipeline, "ghost", "doc", "text"); }) == ErrorCode::NotFound);
  CHECK(fakes.backend.calls == 0);
  CHECK(fakes.corpus.documents_of(TenantId("ghost")) == 0);
  CHECK(fakes.audit_storage->tenants().empty());  // not even an audit log was opened
}

TEST_CASE("a quarantined tenant gets TenantUnavailable and reaches neither the model nor the corpus", "[pipeline][narrow]") {
  FakeLayers fakes;
  fakes.provision("acme");
  fakes.provision("globex");
  fakes.directory.quarantine(TenantId("acme"), Error(ErrorCode::Tampered, "acme.log: record 7 does not match its hash"));
  pipeline::Pipeline pipeline(fakes.layers());
  CHECK(code_of([&] { (void)with_tenant(context_for("acme", "alice"), [&](auto scope) { return scope.release(pipeline.chat(scope, question("hi")), "t"); }); }) == ErrorCode::TenantUnavailable);
  CHECK(code_of([&] { (void)ingest_one(pipeline, "acme", "doc", "text"); }) == ErrorCode::TenantUnavailable);
  CHECK(fakes.backend.calls == 0);
  CHECK(fakes.corpus.documents_of(TenantId("acme")) == 0);
  // The neighbour serves.
  CHECK(ingest_one(pipeline, "globex", "doc", "globex text") == 1);
  CHECK(fakes.backend.calls == 0);
}

TEST_CASE("an ingest the corpus cannot make durable is not acknowledged and leaves nothing visible", "[pipeline][narrow]") {
  FakeLayers fakes;
  fakes.provision("acme");
  pipeline::Pipeline pipeline(fakes.layers());
  fakes.corpus.fail_with = Error(ErrorCode::StorageFailure, "disk full");
  CHECK(code_of([&] { (void)ingest_one(pipeline, "acme", "doc-1", "CANARY-UNACKED"); }) == ErrorCode::StorageFailure);
  CHECK(search(pipeline, "acme", "CANARY-UNACKED").empty());
  CHECK(with_tenant(context_for("acme", "reader"), [&](auto scope) { return scope.view(fakes.documents.all(scope)).size(); }) == 0);
  for (const auto& event : fakes.audit_events("acme")) {
    if (event.operation == audit::Operation::Write) CHECK(event.status != "ok");  // never acknowledged
  }

  fakes.corpus.fail_with.reset();  // the client's retry succeeds
  CHECK(ingest_one(pipeline, "acme", "doc-1", "CANARY-UNACKED") == 1);
  CHECK(search(pipeline, "acme", "CANARY-UNACKED").size() == 1);
}

TEST_CASE("a failing model releases the budget hold and leaves its code in the audit event", "[pipeline][narrow]") {
  FakeLayers fakes;
  fakes.provision("acme");
  pipeline::Pipeline pipeline(fakes.layers());
  fakes.backend.fail(Error(ErrorCode::Unavailable, "upstream went away"));
  auto context = context_for("acme", "alice");
  CHECK(code_of([&] { (void)with_tenant(context, [&](auto scope) { return scope.release(pipeline.chat(scope, question("hi")), "t"); }); }) == ErrorCode::Unavailable);
  CHECK(fakes.backend.calls == 1);
  const auto day = with_tenant(context, [&](auto scope) { return scope.release(fakes.budgets.tenant_summary(scope), "t").day; });
  CHECK(day.reserved == 0);
  CHECK(day.spent == 0);
  const auto events = fakes.audit_events("acme");
  REQUIRE(events.size() == 1);
  CHECK(events[0].status == "Unavailable");
}

namespace {

// The registry's own parts on top of FakeLayers: keys in a temp dir, an API-key registry.
struct RegistryFakes {
  FakeLayers fakes;
  crypto::LocalKeyProvider keys{fakes.dir.path() + "/keys"};
  crypto::EnvelopeSealer sealer{keys, fakes.dir.path() + "/keys/data-keys"};
  ApiKeyAuthenticator api_keys;
  audit::AuditAccessRecorder recorder{fakes.audit};
  std::vector<std::string> journal;
  std::vector<std::shared_ptr<pipeline::TenantLayer>> layers;

  pipeline::RegistryLayers registry_layers() {
    return {fakes.directory, layers,   fakes.tiers, fakes.prices, api_keys,
            keys,            sealer,   fakes.audit, *system_time_source(),
            [](const TenantId&) { return std::string("fake-verifier-key"); }, fakes.dir.path() + "/keys/receipt-signer.key"};
  }
};

pipeline::TenantConfig small_config(const std::string& tenant) {
  pipeline::TenantConfig config{TenantId(tenant)};
  config.tier = "standard";
  config.models.model = "echo-small";
  return config;
}

}  // namespace

TEST_CASE("a TenantRegistry on fake layers rolls a refused onboarding back newest first", "[pipeline][narrow]") {
  RegistryFakes parts;
  parts.layers = {std::make_shared<RecordingLayer>("first", parts.journal),
                  std::make_shared<RecordingLayer>("second", parts.journal),
                  std::make_shared<RecordingLayer>("refuser", parts.journal, true)};
  pipeline::TenantRegistry registry(parts.registry_layers());
  SystemScope system(parts.recorder, "operator", "onboarding test");
  CHECK(code_of([&] { (void)registry.onboard(system, small_config("acme")); }) == ErrorCode::InvalidArgument);
  CHECK(parts.journal == std::vector<std::string>{"first:provision:acme", "second:provision:acme",
                                                  "refuser:provision:acme", "refuser:rollback:acme",
                                                  "second:rollback:acme", "first:rollback:acme"});
  CHECK_FALSE(parts.fakes.directory.knows(TenantId("acme")));  // nothing half-provisioned
}

TEST_CASE("a TenantRegistry on fake layers offboards through every layer in reverse and signs the receipt",
          "[pipeline][narrow]") {
  RegistryFakes parts;
  parts.layers = {std::make_shared<RecordingLayer>("first", parts.journal),
                  std::make_shared<RecordingLayer>("second", parts.journal)};
  pipeline::TenantRegistry registry(parts.registry_layers());
  SystemScope system(parts.recorder, "operator", "offboarding test");
  (void)registry.onboard(system, small_config("acme"));
  REQUIRE(parts.fakes.directory.knows(TenantId("acme")));
  parts.journal.clear();
  const auto receipt = registry.offboard(system, TenantId("acme"), parts.fakes.dir.path() + "/export");
  CHECK(parts.journal == std::vector<std::string>{"first:export:acme", "second:export:acme", "second:erase:acme",
                                                  "first:erase:acme"});
  CHECK_FALSE(parts.fakes.directory.knows(TenantId("acme")));
  CHECK(pipeline::verify_erasure_receipt(receipt));
  CHECK(receipt.json.find("\"verifier_key\":\"fake-verifier-key\"") != std::string::npos);
  CHECK(with_tenant(context_for("acme", "x"), [&](auto scope) { return parts.keys.destroyed(scope.context()); }));
}

namespace {

// Maps one fixed credential to one principal; everything else is Unauthenticated.
class FakeAuthenticator final : public Authenticator {
 public:
  FakeAuthenticator(std::string credential, Principal principal)
      : credential_(std::move(credential)), principal_(std::move(principal)) {}
  Result<TenantContext> authenticate(std::string_view credential, const RequestOptions& options = {}) const override {
    ++calls;
    if (credential != credential_) return Error(ErrorCode::Unauthenticated, "unknown credential");
    return make_context(principal_, options);
  }
  mutable std::atomic<int> calls{0};

 private:
  std::string credential_;
  Principal principal_;
};

}  // namespace

TEST_CASE("a TenantApi on fake layers fails closed on its authenticator's answer", "[pipeline][narrow]") {
  RegistryFakes parts;
  parts.fakes.provision("acme");
  pipeline::Pipeline pipeline(parts.fakes.layers());
  pipeline::TenantRegistry registry(parts.registry_layers());
  FakeAuthenticator good("acme-token", Principal{TenantId("acme"), "alice", {}, {}});
  FakeAuthenticator ghost("ghost-token", Principal{TenantId("ghost"), "mallory", {}, {}});
  server::HttpServer http;
  server::TenantApi api(http, pipeline, registry,
                        {good, parts.fakes.meter, parts.fakes.budgets, parts.fakes.audit, parts.recorder,
                         [](const TenantId&) { return std::string("fake-key"); }},
                        {});
  server::HttpServer http_ghost;
  server::TenantApi api_ghost(http_ghost, pipeline, registry,
                              {ghost, parts.fakes.meter, parts.fakes.budgets, parts.fakes.audit, parts.recorder,
                               [](const TenantId&) { return std::string("k"); }},
                              {});
  http.start();
  http_ghost.start();
  const std::string chat = R"({"messages":[{"role":"user","content":"hello"}],"k":0})";

  auto wrong = test_support::http_call(http.port(), "POST", "/v1/chat", chat, {{"Authorization", "Bearer nope"}});
  CHECK(wrong.status == 401);
  CHECK(parts.fakes.directory.lookups == 0);  // refused before any tenant was looked up
  auto right = test_support::http_call(http.port(), "POST", "/v1/chat", chat, {{"Authorization", "Bearer acme-token"}});
  CHECK(right.status == 200);
  CHECK(right.body.find("user: hello") != std::string::npos);
  // An authenticated principal of a tenant nobody provisioned is refused, never served as another.
  auto unknown =
      test_support::http_call(http_ghost.port(), "POST", "/v1/chat", chat, {{"Authorization", "Bearer ghost-token"}});
  CHECK(unknown.status == 404);
  CHECK(parts.fakes.backend.calls == 1);
  CHECK(good.calls == 2);
  http.stop();
  http_ghost.stop();
}
