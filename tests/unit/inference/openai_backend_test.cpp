// OpenAICompatibleBackend against a real HTTP server on 127.0.0.1 started by each test.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <tenantai/core.h>
#include <tenantai/inference/openai_backend.h>

#include "fake_model_server.h"

#include "support/error_code.h"

using namespace tenantai;
using tenantai::test_support::code_of;
using namespace tenantai::inference;
using tenantai::test_support::FakeModelServer;
using tenantai::test_support::FakeRequest;
using tenantai::test_support::FakeResponse;
using json = nlohmann::json;

namespace {

std::string chat_body(const std::string& text, const std::string& model = "served-model") {
  return json{{"model", model},
              {"choices", json::array({{{"index", 0}, {"message", {{"role", "assistant"}, {"content", text}}}}})},
              {"usage", {{"prompt_tokens", 11}, {"completion_tokens", 7}}}}
      .dump();
}

OpenAICompatibleOptions fast_options(const FakeModelServer& server) {
  OpenAICompatibleOptions o;
  o.base_url = server.url();
  o.connect_timeout = std::chrono::milliseconds(1000);
  o.request_timeout = std::chrono::milliseconds(2000);
  o.initial_backoff = std::chrono::milliseconds(10);
  o.max_backoff = std::chrono::milliseconds(2000);
  return o;
}

CompletionRequest simple_request() {
  CompletionRequest r;
  r.model = "base-model";
  r.messages = {{"system", "be brief"}, {"user", "hello"}};
  return r;
}

}  // namespace

TEST_CASE("openai: chat completion succeeds and reports text, tokens, model and sends the bearer key") {
  FakeModelServer server([](const FakeRequest& r) {
    auto body = json::parse(r.body);
    // Echo the request's model and last message so the test sees what was sent.
    return FakeResponse{200, chat_body("answer to " + body["messages"].back()["content"].get<std::string>(),
                                       body["model"].get<std::string>())};
  });
  auto options = fast_options(server);
  options.api_key = "sk-test-123";
  OpenAICompatibleBackend backend(options);
  std::string streamed;
  auto request = simple_request();
  request.on_chunk = [&](std::string_view c) { streamed += c; };
  auto result = backend.complete(request);
  CHECK(result.text == "answer to hello");
  CHECK(streamed == result.text);
  CHECK(result.input_tokens == 11);
  CHECK(result.output_tokens == 7);
  CHECK(result.model == "base-model");
  auto seen = server.seen();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].target == "/v1/chat/completions");
  CHECK(seen[0].authorization == "Bearer sk-test-123");
  auto sent = json::parse(seen[0].body);
  CHECK(sent["messages"].size() == 2);
  CHECK(sent["messages"][0]["role"] == "system");
}

TEST_CASE("openai: an adapter is sent as the model name and reported back") {
  FakeModelServer server([](const FakeRequest& r) {
    return FakeResponse{200, chat_body("ok", json::parse(r.body)["model"].get<std::string>())};
  });
  OpenAICompatibleBackend backend(fast_options(server));
  auto request = simple_request();
  request.adapter = "acme-lora";
  auto result = backend.complete(request);
  CHECK(result.model == "acme-lora");
  CHECK(result.adapter == "acme-lora");
}

TEST_CASE("openai: a base URL prefix is kept in the request path") {
  FakeModelServer server([](const FakeRequest&) { return FakeResponse{200, chat_body("ok")}; });
  auto options = fast_options(server);
  options.base_url = server.url() + "/proxy/";
  OpenAICompatibleBackend backend(options);
  (void)backend.complete(simple_request());
  CHECK(server.seen().at(0).target == "/proxy/v1/chat/completions");
}

TEST_CASE("openai: embeddings come back in index order with the configured dimension") {
  FakeModelServer server([](const FakeRequest& r) {
    auto inputs = json::parse(r.body)["input"];
    json data = json::array();
    // Answer in reverse order with explicit indexes; the vector encodes the input length.
    for (std::size_t i = inputs.size(); i-- > 0;) {
      float len = static_cast<float>(inputs[i].get<std::string>().size());
      data.push_back({{"index", i}, {"embedding", {len, 1.0, 2.0}}});
    }
    return FakeResponse{200, json{{"data", data}}.dump()};
  });
  auto options = fast_options(server);
  options.embedding_dimension = 3;
  OpenAICompatibleBackend backend(options);
  auto vectors = backend.embed({"a", "bbbb"});
  REQUIRE(vectors.size() == 2);
  CHECK(vectors[0][0] == 1.0f);
  CHECK(vectors[1][0] == 4.0f);
  CHECK(server.seen().at(0).target == "/v1/embeddings");
  options.embedding_dimension = 4;
  OpenAICompatibleBackend wrong_dim(options);
  CHECK(code_of([&] { (void)wrong_dim.embed({"a"}); }) == ErrorCode::Unavailable);
}

TEST_CASE("openai: a server slower than the request timeout fails with Unavailable") {
  FakeModelServer server([](const FakeRequest&) {
    FakeResponse r{200, chat_body("late")};
    r.delay = std::chrono::milliseconds(800);
    return r;
  });
  auto options = fast_options(server);
  options.request_timeout = std::chrono::milliseconds(150);
  options.max_retries = 1;
  OpenAICompatibleBackend backend(options);
  CHECK(code_of([&] { (void)backend.complete(simple_request()); }) == ErrorCode::Unavailable);
  CHECK(backend.attempts() == 2);  // the timeout was retried once
}

TEST_CASE("openai: 429 is retried honouring Retry-After, then succeeds") {
  std::atomic<int> calls{0};
  FakeModelServer server([&](const FakeRequest&) {
    if (calls.fetch_add(1) == 0) return FakeResponse{429, R"({"error":"slow down"})", {{"Retry-After", "1"}}};
    return FakeResponse{200, chat_body("after retry")};
  });
  OpenAICompatibleBackend backend(fast_options(server));  // initial backoff 10 ms
  const auto start = std::chrono::steady_clock::now();
  auto result = backend.complete(simple_request());
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(result.text == "after retry");
  CHECK(server.requests() == 2);
  // Retry-After: 1 must override the 10 ms backoff (a lower bound on a sleep, not a speed claim).
  CHECK(waited >= std::chrono::milliseconds(1000));
}

TEST_CASE("openai: persistent 429 becomes RateLimited after max_retries") {
  FakeModelServer server([](const FakeRequest&) { return FakeResponse{429, "{}"}; });
  auto options = fast_options(server);
  options.max_retries = 2;
  OpenAICompatibleBackend backend(options);
  CHECK(code_of([&] { (void)backend.complete(simple_request()); }) == ErrorCode::RateLimited);
  CHECK(server.requests() == 3);
}

TEST_CASE("openai: 500 is retried and then reported as Unavailable - a transient 503 recovers") {
  FakeModelServer always([](const FakeRequest&) { return FakeResponse{500, R"({"error":"boom"})"}; });
  auto options = fast_options(always);
  options.max_retries = 1;
  OpenAICompatibleBackend failing(options);
  CHECK(code_of([&] { (void)failing.complete(simple_request()); }) == ErrorCode::Unavailable);
  CHECK(always.requests() == 2);

  std::atomic<int> calls{0};
  FakeModelServer flaky([&](const FakeRequest&) {
    if (calls.fetch_add(1) < 2) return FakeResponse{503, "{}"};
    return FakeResponse{200, chat_body("recovered")};
  });
  auto flaky_options = fast_options(flaky);
  flaky_options.max_retries = 3;
  OpenAICompatibleBackend recovering(flaky_options);
  CHECK(recovering.complete(simple_request()).text == "recovered");
  CHECK(flaky.requests() == 3);
}

TEST_CASE("openai: 4xx other than 429 is InvalidArgument and not retried") {
  FakeModelServer server([](const FakeRequest&) { return FakeResponse{400, R"({"error":"bad model"})"}; });
  OpenAICompatibleBackend backend(fast_options(server));
  CHECK(code_of([&] { (void)backend.complete(simple_request()); }) == ErrorCode::InvalidArgument);
  CHECK(server.requests() == 1);
}

TEST_CASE("openai: malformed JSON and wrong shapes are Unavailable and not retried") {
  for (std::string body : {std::string("not json {"), std::string(R"({"choices": []})"),
                           std::string(R"({"choices": [{"message": {"content": 42}}]})"), std::string("[1,2]"),
                           std::string(R"({"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":-3}})")}) {
    FakeModelServer server([&](const FakeRequest&) { return FakeResponse{200, body}; });
    OpenAICompatibleBackend backend(fast_options(server));
    INFO(body);
    CHECK(code_of([&] { (void)backend.complete(simple_request()); }) == ErrorCode::Unavailable);
    CHECK(server.requests() == 1);
  }
  FakeModelServer bad_embed([](const FakeRequest&) { return FakeResponse{200, R"({"data":[{"embedding":["x"]}]})"}; });
  OpenAICompatibleBackend backend(fast_options(bad_embed));
  CHECK(code_of([&] { (void)backend.embed({"a"}); }) == ErrorCode::Unavailable);
}

TEST_CASE("openai: a response larger than max_response_bytes is refused") {
  FakeModelServer server([](const FakeRequest&) { return FakeResponse{200, chat_body(std::string(64 * 1024, 'x'))}; });
  auto options = fast_options(server);
  options.max_response_bytes = 16 * 1024;
  OpenAICompatibleBackend backend(options);
  CHECK(code_of([&] { (void)backend.complete(simple_request()); }) == ErrorCode::Unavailable);
  CHECK(server.requests() == 1);
  options.max_response_bytes = 1 << 20;
  OpenAICompatibleBackend roomy(options);
  CHECK(roomy.complete(simple_request()).text.size() == 64 * 1024);
}

TEST_CASE("openai: connection refused is retried then Unavailable") {
  std::uint16_t dead_port = 0;
  {
    FakeModelServer server([](const FakeRequest&) { return FakeResponse{}; });
    dead_port = server.port();
  }  // closed: nothing listens there any more
  OpenAICompatibleOptions options;
  options.base_url = "http://127.0.0.1:" + std::to_string(dead_port);
  options.initial_backoff = std::chrono::milliseconds(5);
  options.max_retries = 2;
  OpenAICompatibleBackend backend(options);
  CHECK(code_of([&] { (void)backend.complete(simple_request()); }) == ErrorCode::Unavailable);
  CHECK(backend.attempts() == 3);
}

TEST_CASE("openai: bad configuration and requests are InvalidArgument") {
  OpenAICompatibleOptions options;
  options.base_url = "https://api.example.com";
  CHECK(code_of([&] { OpenAICompatibleBackend b(options); }) == ErrorCode::InvalidArgument);
  options.base_url = "http://host:notaport";
  CHECK(code_of([&] { OpenAICompatibleBackend b(options); }) == ErrorCode::InvalidArgument);
  options.base_url = "http://127.0.0.1:1";
  OpenAICompatibleBackend backend(options);
  CompletionRequest empty;
  empty.model = "m";
  CHECK(code_of([&] { (void)backend.complete(empty); }) == ErrorCode::InvalidArgument);
}

TEST_CASE("openai: the request deadline cuts the wait and the retries short with DeadlineExceeded") {
  FakeModelServer slow([](const FakeRequest&) {
    FakeResponse r{200, chat_body("late")};
    r.delay = std::chrono::milliseconds(700);
    return r;
  });
  auto options = fast_options(slow);  // request timeout 2 s: the deadline must win
  options.max_retries = 3;
  OpenAICompatibleBackend backend(options);
  auto request = simple_request();
  request.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(150);
  CHECK(code_of([&] { (void)backend.complete(request); }) == ErrorCode::DeadlineExceeded);
  CHECK(backend.attempts() == 1);

  FakeModelServer limited([](const FakeRequest&) { return FakeResponse{429, "{}", {{"Retry-After", "30"}}}; });
  auto limited_options = fast_options(limited);
  limited_options.max_backoff = std::chrono::milliseconds(30000);
  OpenAICompatibleBackend waiting(limited_options);
  auto soon = simple_request();
  soon.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  // A 30 s Retry-After does not fit before the deadline: fail now instead of sleeping past it.
  CHECK(code_of([&] { (void)waiting.complete(soon); }) == ErrorCode::DeadlineExceeded);
  CHECK(limited.requests() == 1);
  auto past = simple_request();
  past.deadline = std::chrono::steady_clock::now() - std::chrono::milliseconds(1);
  CHECK(code_of([&] { (void)waiting.complete(past); }) == ErrorCode::DeadlineExceeded);
  CHECK(limited.requests() == 1);  // nothing was sent
}
