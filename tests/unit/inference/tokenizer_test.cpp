// Tokenizers: the approximate default, the backends' own, and that a backend's reported usage
// is what a result carries while its tokenizer only fills counts the server leaves out.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <tenantai/core.h>
#include <tenantai/inference/echo_model.h>
#include <tenantai/inference/openai_backend.h>
#include <tenantai/inference/tokenizer.h>

#include <memory>
#include <string>

#include "fake_model_server.h"

using namespace tenantai::inference;
using tenantai::test_support::FakeModelServer;
using tenantai::test_support::FakeRequest;
using tenantai::test_support::FakeResponse;
using json = nlohmann::json;

namespace {

// Counts every byte as a token: unlike the approximate count for any text with a word longer
// than one byte, so a test can tell which tokenizer counted.
class ByteTokenizer final : public Tokenizer {
 public:
  std::size_t count(std::string_view text) const override { return text.size(); }
};

// A backend that keeps the default tokenizer.
class DefaultTokenizerBackend final : public InferenceBackend {
 public:
  CompletionResult complete(const CompletionRequest&) override { return {}; }
};

std::string chat_body(const json& usage) {
  json body{{"model", "served"},
            {"choices", json::array({{{"index", 0}, {"message", {{"role", "assistant"}, {"content", "four words in reply"}}}}})}};
  if (!usage.is_null()) body["usage"] = usage;
  return body.dump();
}

CompletionRequest hello_request() {
  CompletionRequest r;
  r.model = "m";
  r.messages = {{"system", "be brief"}, {"user", "hello there"}};  // 4 words, 19 bytes
  return r;
}

OpenAICompatibleOptions options_for(const FakeModelServer& server) {
  OpenAICompatibleOptions o;
  o.base_url = server.url();
  o.max_retries = 0;
  return o;
}

}  // namespace

TEST_CASE("ApproximateTokenizer counts whitespace-separated words of any bytes", "[inference][tokenizer]") {
  const ApproximateTokenizer tokenizer;
  CHECK(tokenizer.count("") == 0);
  CHECK(tokenizer.count(" \t\n ") == 0);
  CHECK(tokenizer.count("  a  bb\tccc\n") == 3);
  CHECK(tokenizer.count(std::string("\xff\xfe \x80", 4)) == 2);  // invalid UTF-8 is counted, not refused
  CHECK(approximate_tokenizer().count("one two three") == 3);
}

TEST_CASE("count_tokens sums the contents of messages, not their roles", "[inference][tokenizer]") {
  const ByteTokenizer bytes;
  CHECK(count_tokens(bytes, {{"system", "abc"}, {"user", "de"}}) == 5);
  CHECK(count_tokens(approximate_tokenizer(), {{"system", "be brief"}, {"user", "hello there"}}) == 4);
  CHECK(count_tokens(bytes, {}) == 0);
}

TEST_CASE("a backend without its own tokenizer gets the approximate one", "[inference][tokenizer]") {
  const DefaultTokenizerBackend backend;
  CHECK(&backend.tokenizer() == &approximate_tokenizer());
}

TEST_CASE("EchoModel's usage is exactly its tokenizer's count", "[inference][tokenizer]") {
  EchoModel model;
  const auto request = hello_request();
  const auto result = model.complete(request);
  CHECK(result.input_tokens == count_tokens(model.tokenizer(), request.messages));
  CHECK(result.input_tokens == 4);
  CHECK(result.output_tokens == model.tokenizer().count(result.text));
}

TEST_CASE("openai: the configured tokenizer is the backend's; the server's usage wins over it",
          "[inference][tokenizer]") {
  FakeModelServer server(
      [](const FakeRequest&) { return FakeResponse{200, chat_body({{"prompt_tokens", 11}, {"completion_tokens", 7}})}; });
  auto options = options_for(server);
  auto bytes = std::make_shared<ByteTokenizer>();
  options.tokenizer = bytes;
  OpenAICompatibleBackend backend(options);
  CHECK(&backend.tokenizer() == bytes.get());
  const auto result = backend.complete(hello_request());
  CHECK(result.input_tokens == 11);
  CHECK(result.output_tokens == 7);
}

TEST_CASE("openai: usage the server leaves out is counted by the backend's tokenizer", "[inference][tokenizer]") {
  FakeModelServer server([](const FakeRequest&) { return FakeResponse{200, chat_body(nullptr)}; });
  SECTION("a configured tokenizer") {
    auto options = options_for(server);
    options.tokenizer = std::make_shared<ByteTokenizer>();
    OpenAICompatibleBackend backend(options);
    const auto result = backend.complete(hello_request());
    CHECK(result.input_tokens == 19);   // "be brief" + "hello there", in bytes
    CHECK(result.output_tokens == 19);  // "four words in reply"
  }
  SECTION("none configured: the approximate one") {
    OpenAICompatibleBackend backend(options_for(server));
    CHECK(&backend.tokenizer() == &approximate_tokenizer());
    const auto result = backend.complete(hello_request());
    CHECK(result.input_tokens == 4);
    CHECK(result.output_tokens == 4);
  }
}
