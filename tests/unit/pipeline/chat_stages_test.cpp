// The chat stages: one audit event per request whatever the exit (the ChatAudit guard), one
// meter record per request, and token counts from the backend's tokenizer for admission, the
// budget reservation and memory, while the settle charges the usage the backend reports.
#include <catch2/catch.hpp>
#include <tenantai/inference/echo_model.h>
#include <tenantai/inference/openai_backend.h>
#include <tenantai/inference/tokenizer.h>
#include <tenantai/pipeline.h>

#include <atomic>
#include <functional>
#include <optional>

#include "platform_fixture.h"
#include "support/test_auth.h"
#include "unit/inference/fake_model_server.h"

using namespace tenantai;
using namespace tenantai::pipeline;

namespace {

constexpr metering::Micros kEchoSmallInputPerMillion = 500'000;    // the platform's echo-small price
constexpr metering::Micros kEchoSmallOutputPerMillion = 1'500'000;

// The approximate (whitespace) count times a factor the test sets: 10 over-estimates what the
// echo model reports, 0 under-estimates it.
class ScaledTokenizer final : public inference::Tokenizer {
 public:
  std::size_t count(std::string_view text) const override { return factor.load() * words_.count(text); }
  std::atomic<std::size_t> factor{1};

 private:
  inference::ApproximateTokenizer words_;
};

// The real EchoModel (whose reported usage is its whitespace count) with a ScaledTokenizer as
// the backend's tokenizer, and a hook run inside each call (set before the requests).
class ScaledEcho final : public inference::InferenceBackend {
 public:
  inference::CompletionResult complete(const inference::CompletionRequest& request) override {
    if (on_call) on_call();
    return echo_.complete(request);
  }
  const inference::Tokenizer& tokenizer() const noexcept override { return tokenizer_; }
  void set_factor(std::size_t factor) { tokenizer_.factor = factor; }
  std::function<void()> on_call;

 private:
  inference::EchoModel echo_;
  ScaledTokenizer tokenizer_;
};

struct TenantLimits {
  std::uint32_t tokens_per_minute = 1'000'000;
  std::optional<MicroUsd> daily = 100'000'000;  // $100
};

// What one chat did: its answer or error code, and the request-level audit events it appended.
struct Outcome {
  std::optional<ChatAnswer> answer;
  std::string code = "ok";
  std::vector<audit::AuditEvent> events;  // Infer and CacheHit events only
};

struct World {
  test_support::TempDir dir;
  std::unique_ptr<Platform> platform;
  std::unique_ptr<TenantRegistry> registry;
  std::unique_ptr<Pipeline> pipeline;

  explicit World(std::shared_ptr<inference::InferenceBackend> backend = nullptr) {
    auto options = pipeline_test::echo_options(std::filesystem::path(dir.path()) / "data");
    if (backend) options.backend = std::move(backend);
    platform = std::make_unique<Platform>(std::move(options));
    registry = std::make_unique<TenantRegistry>(*platform);
    pipeline = std::make_unique<Pipeline>(*platform);
  }

  TenantContext onboard(const std::string& tenant, const TenantLimits& limits = {}) {
    std::string name = tenant;
    name += "Stages";
    const auto secret = test_support::fixed_secret(name);
    auto system = platform->system_scope("test", "provision a chat-stages tenant");
    TenantConfig config{TenantId(tenant)};
    config.tier = "enterprise";
    config.models.model = "echo-small";
    config.quotas.tokens_per_minute = limits.tokens_per_minute;
    config.budgets.daily = limits.daily;
    config.api_keys.push_back({"user", {"staff"}, {}, secret});
    registry->onboard(system, config);
    return platform->authenticator().authenticate(secret).value();
  }

  Outcome chat(const TenantContext& context, const ChatRequest& request) {
    const auto before = with_tenant(context, [&](auto scope) { return platform->audit().size(scope); });
    Outcome out;
    try {
      out.answer = with_tenant(context, [&](auto scope) { return scope.release(pipeline->chat(scope, request)); });
    } catch (const Error& error) {
      out.code = std::string(to_string(error.code()));
    }
    with_tenant(context, [&](auto scope) {
      for (const auto& record : scope.release(platform->audit().read(scope, before, 1000))) {
        if (!record.event) continue;
        const auto op = record.event->operation;
        if (op == audit::Operation::Infer || op == audit::Operation::CacheHit) out.events.push_back(*record.event);
      }
    });
    return out;
  }

  metering::UsageTotals usage(const TenantContext& context) {
    return with_tenant(context, [&](auto scope) { return scope.release(platform->meter().totals(scope)); });
  }
  metering::LedgerBalance budget_today(const TenantContext& context) {
    return with_tenant(context, [&](auto scope) { return scope.release(platform->budgets().tenant_summary(scope)).day; });
  }
};

ChatRequest ask(std::string question) {
  ChatRequest request;
  request.messages = {{"user", std::move(question)}};
  request.k = 0;
  return request;
}

// The one request-level event of `out`, with the status it must carry.
// Returns a copy: callers pass temporaries (world.chat(...)).
audit::AuditEvent the_event(const Outcome& out, audit::Operation operation, const std::string& status) {
  INFO("outcome " << out.code);
  REQUIRE(out.events.size() == 1);
  CHECK(out.events.front().operation == operation);
  CHECK(out.events.front().status == status);
  CHECK(out.code == status);
  return out.events.front();
}

// A sentence of `words` words.
std::string words(std::size_t count) {
  std::string text;
  for (std::size_t i = 0; i < count; ++i) text += i == 0 ? "word" : " word";
  return text;
}

}  // namespace

TEST_CASE("chat stages: a model answer and both cache hits each append one event and one meter record",
          "[pipeline][chat_stages]") {
  World world;
  const auto context = world.onboard("stages-ok");
  const std::string question = "When do branches open and close on weekdays?";

  const auto first = world.chat(context, ask(question));
  const auto infer = the_event(first, audit::Operation::Infer, "ok");
  REQUIRE(first.answer);
  CHECK(first.answer->cache == "miss");
  CHECK(infer.model_id == "echo-small");
  CHECK_FALSE(infer.prompt_version.empty());
  CHECK(infer.prompt_version == first.answer->prompt_version);
  CHECK(infer.input_digest == sha256_hex(question));
  CHECK(infer.output_digest == sha256_hex(first.answer->text));
  CHECK(infer.detail.find("\"cost_micros\"") != std::string::npos);

  const auto exact = world.chat(context, ask(question));
  const auto exact_event = the_event(exact, audit::Operation::CacheHit, "ok");
  REQUIRE(exact.answer);
  CHECK(exact.answer->cache == "exact");
  CHECK(exact_event.detail == "cache=exact");
  CHECK(exact_event.model_id == "echo-small");
  CHECK(exact_event.output_digest == sha256_hex(first.answer->text));

  // Same words, other case and punctuation: another exact key, the same embedding.
  const auto semantic = world.chat(context, ask("when do branches open and close on weekdays"));
  const auto semantic_event = the_event(semantic, audit::Operation::CacheHit, "ok");
  REQUIRE(semantic.answer);
  CHECK(semantic.answer->cache == "semantic");
  CHECK(semantic_event.detail == "cache=semantic");

  const auto usage = world.usage(context);
  CHECK(usage.requests == 3);  // one record per request, the hits included
  CHECK(usage.cache_hits == 2);
  CHECK(world.budget_today(context).spent == first.answer->cost);  // hits charge nothing
}

TEST_CASE("chat stages: every refusal after provisioning appends one event with its error code",
          "[pipeline][chat_stages]") {
  World world;
  const auto open = world.onboard("stages-open");

  SECTION("invalid requests") {
    auto last_from_assistant = ask("hello");
    last_from_assistant.messages.push_back({"assistant", "hi"});
    the_event(world.chat(open, last_from_assistant), audit::Operation::Infer, "InvalidArgument");
    auto no_output = ask("hello");
    no_output.max_tokens = 0;
    const auto event = the_event(world.chat(open, no_output), audit::Operation::Infer, "InvalidArgument");
    CHECK(event.input_digest == sha256_hex("hello"));
    ChatRequest empty;
    const auto no_messages = the_event(world.chat(open, empty), audit::Operation::Infer, "InvalidArgument");
    CHECK(no_messages.input_digest.empty());
    CHECK(no_messages.target == "chat");
    CHECK(world.usage(open).requests == 0);
  }
  SECTION("rate limited") {
    const auto narrow = world.onboard("stages-narrow", {.tokens_per_minute = 100});
    auto request = ask("hello");
    request.max_tokens = 200;  // 201 tokens > the bucket of 100
    the_event(world.chat(narrow, request), audit::Operation::Infer, "RateLimited");
    CHECK(world.usage(narrow).requests == 0);
  }
  SECTION("budget exceeded") {
    const auto broke = world.onboard("stages-broke", {.daily = 0});
    const auto out = world.chat(broke, ask("hello"));
    const auto event = the_event(out, audit::Operation::Infer, "BudgetExceeded");
    CHECK(event.model_id == "echo-small");  // routing ran before the reservation
    CHECK(world.budget_today(broke).reserved == 0);
    CHECK(world.usage(broke).requests == 0);
  }
  SECTION("a session request is audited under its session") {
    auto request = ask("hello");
    request.session = "s-1";
    const auto event = the_event(world.chat(open, request), audit::Operation::Infer, "ok");
    CHECK(event.target == "session:s-1");
  }
}

TEST_CASE("chat stages: a failing model server appends one event and releases the reservation",
          "[pipeline][chat_stages]") {
  test_support::FakeModelServer server(
      [](const test_support::FakeRequest&) { return test_support::FakeResponse{503, "overloaded"}; });
  inference::OpenAICompatibleOptions options;
  options.base_url = server.url();
  options.max_retries = 0;
  World world(std::make_shared<inference::OpenAICompatibleBackend>(options));
  const auto context = world.onboard("stages-down");
  const auto out = world.chat(context, ask("hello"));
  the_event(out, audit::Operation::Infer, "Unavailable");
  CHECK(server.requests() == 1);
  const auto budget = world.budget_today(context);
  CHECK(budget.reserved == 0);
  CHECK(budget.spent == 0);
  CHECK(world.usage(context).requests == 0);
}

TEST_CASE("chat stages: the backend's tokenizer decides admission", "[pipeline][chat_stages][tokenizer]") {
  auto backend = std::make_shared<ScaledEcho>();
  World world(backend);
  // 50 words + max_tokens 100: 150 tokens by the word count, 600 by a tokenizer counting 10 per word.
  const auto context = world.onboard("stages-admit", {.tokens_per_minute = 400});
  auto request = ask(words(50));
  request.max_tokens = 100;
  request.use_cache = false;
  backend->set_factor(10);
  const auto refused = world.chat(context, request);
  the_event(refused, audit::Operation::Infer, "RateLimited");
  backend->set_factor(1);
  const auto admitted = world.chat(context, request);  // nothing was drawn by the refusal
  the_event(admitted, audit::Operation::Infer, "ok");
}

TEST_CASE("chat stages: the tokenizer moves the reservation, the settle charges the backend's reported usage",
          "[pipeline][chat_stages][tokenizer]") {
  auto backend = std::make_shared<ScaledEcho>();
  World world(backend);
  const auto context = world.onboard("stages-settle");
  std::atomic<metering::Micros> reserved_during_call{-1};
  backend->on_call = [&] { reserved_during_call = world.budget_today(context).reserved; };
  auto request = ask(words(30));
  request.max_tokens = 2000;  // above what the echo answers, so the reservation covers every estimate
  request.use_cache = false;

  struct Run {
    metering::Micros reserved;
    ChatAnswer answer;
    metering::Micros spent;
  };
  auto run_with = [&](std::size_t factor) {
    backend->set_factor(factor);
    const auto spent_before = world.budget_today(context).spent;
    auto out = world.chat(context, request);
    the_event(out, audit::Operation::Infer, "ok");
    REQUIRE(out.answer);
    return Run{reserved_during_call.load(), *out.answer, world.budget_today(context).spent - spent_before};
  };
  const auto exact = run_with(1);
  const auto over = run_with(10);
  const auto under = run_with(0);

  CHECK(over.reserved > exact.reserved);
  CHECK(exact.reserved > under.reserved);
  CHECK(under.reserved == metering::cost_of(2000, kEchoSmallOutputPerMillion));  // no input estimated at all
  const auto reported_cost = metering::cost_of(exact.answer.input_tokens, kEchoSmallInputPerMillion) +
                             metering::cost_of(exact.answer.output_tokens, kEchoSmallOutputPerMillion);
  for (const auto* run : {&exact, &over, &under}) {
    CHECK(run->answer.input_tokens == exact.answer.input_tokens);  // the echo model's own count
    CHECK(run->answer.output_tokens == exact.answer.output_tokens);
    CHECK(run->answer.cost == reported_cost);
    CHECK(run->spent == reported_cost);
  }
  CHECK(world.budget_today(context).reserved == 0);
}

TEST_CASE("chat stages: memory records the question's tokens by the backend's tokenizer",
          "[pipeline][chat_stages][tokenizer]") {
  auto backend = std::make_shared<ScaledEcho>();
  World world(backend);
  const auto context = world.onboard("stages-memory");
  backend->set_factor(10);
  auto request = ask("three little words");
  request.session = "s-1";
  const auto out = world.chat(context, request);
  REQUIRE(out.answer);
  const auto history = with_tenant(context, [&](auto scope) {
    return scope.release(world.platform->memory().messages(scope, {context.actor(), request.agent, request.session}, 10));
  });
  REQUIRE(history.size() == 2);
  CHECK(history[0].role == "user");
  CHECK(history[0].input_tokens == 30);
  CHECK(history[1].output_tokens == out.answer->output_tokens);  // the backend's reported usage
}
