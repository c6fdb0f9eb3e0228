#include <catch2/catch.hpp>
#include <tenantai/core.h>
#include <tenantai/inference/echo_model.h>
#include <tenantai/inference/hashing_embedder.h>

#include <algorithm>
#include <cmath>

namespace {
tenantai::inference::HashingEmbedderOptions opts(std::size_t dim, std::uint64_t seed = 0x74656e616e746169ULL) {
  tenantai::inference::HashingEmbedderOptions o;
  o.dimension = dim;
  o.seed = seed;
  return o;
}
tenantai::inference::HashingEmbedderOptions ngram_opts(std::size_t lo, std::size_t hi) {
  tenantai::inference::HashingEmbedderOptions o;
  o.char_ngram_min = lo;
  o.char_ngram_max = hi;
  return o;
}
}  // namespace

using namespace tenantai;
using namespace tenantai::inference;

TEST_CASE("hashing embedder: deterministic, right dimension, L2-normalised") {
  HashingEmbedder embedder(opts(256));
  auto a = embedder.embed_one("Quarterly revenue grew in the northern region");
  auto b = HashingEmbedder(opts(256)).embed_one("Quarterly revenue grew in the northern region");
  REQUIRE(a.size() == 256);
  CHECK(a == b);
  double norm = 0;
  for (float x : a) norm += static_cast<double>(x) * x;
  CHECK(norm == Approx(1.0).epsilon(1e-5));
  auto batch = embedder.embed({"one", "two"});
  REQUIRE(batch.size() == 2);
  CHECK(batch[0] == embedder.embed_one("one"));
  // A different seed gives different vectors.
  CHECK(HashingEmbedder(opts(256, 7)).embed_one("one") != batch[0]);
}

TEST_CASE("hashing embedder: similar texts score high, unrelated texts low") {
  HashingEmbedder embedder;
  auto base = embedder.embed_one("How do I reset my account password?");
  auto similar = embedder.embed_one("how to reset the password of my account");
  auto morph = embedder.embed_one("resetting passwords for accounts");
  auto unrelated = embedder.embed_one("Volcanic soil improves vineyard yields in Sicily");
  float s_similar = cosine_similarity(base, similar);
  float s_morph = cosine_similarity(base, morph);
  float s_unrelated = cosine_similarity(base, unrelated);
  INFO("similar=" << s_similar << " morph=" << s_morph << " unrelated=" << s_unrelated);
  CHECK(s_similar > 0.6f);
  CHECK(s_morph > 0.3f);  // character n-grams link inflections
  CHECK(std::abs(s_unrelated) < 0.2f);
  CHECK(s_similar > s_morph);
  CHECK(s_morph > s_unrelated);
}

TEST_CASE("hashing embedder: empty text is the zero vector and bad options are refused") {
  HashingEmbedder embedder(opts(64));
  auto zero = embedder.embed_one("  ,,, ");
  CHECK(std::all_of(zero.begin(), zero.end(), [](float x) { return x == 0.0f; }));
  CHECK(cosine_similarity(zero, embedder.embed_one("word")) == 0.0f);
  CHECK_THROWS_AS(HashingEmbedder(opts(4)), Error);
  CHECK_THROWS_AS(HashingEmbedder(ngram_opts(4, 3)), Error);
  CHECK_THROWS_AS(cosine_similarity(zero, std::vector<float>(3)), Error);
}

TEST_CASE("echo model: echoes every message, reports model, adapter and token counts") {
  EchoModel model("echo-test");
  CompletionRequest request;
  request.adapter = "acme-lora";
  request.messages = {{"system", "Context: [doc:acme-1] canary-ACME-7731"}, {"user", "what is the canary?"}};
  auto result = model.complete(request);
  CHECK(result.model == "echo-test");
  CHECK(result.adapter == "acme-lora");
  CHECK(result.text.find("[doc:acme-1] canary-ACME-7731") != std::string::npos);
  CHECK(result.text.find("user: what is the canary?") != std::string::npos);
  CHECK(result.input_tokens == 7);  // 3 + 4 whitespace tokens
  CHECK(result.output_tokens == model.tokenizer().count(result.text));
  CHECK(model.calls() == 1);
  request.model = "named";
  CHECK(model.complete(request).model == "named");
  CHECK_THROWS_AS(model.complete(CompletionRequest{}), Error);
}

TEST_CASE("echo model: streaming delivers chunks that reassemble the text") {
  EchoModel model;
  CompletionRequest request;
  request.messages = {{"user", "alpha beta gamma"}};
  std::string joined;
  std::size_t chunks = 0;
  request.on_chunk = [&](std::string_view c) {
    joined += c;
    ++chunks;
  };
  auto result = model.complete(request);
  CHECK(joined == result.text);
  CHECK(chunks > 3);
}


TEST_CASE("EchoModel never answers with more than max_tokens tokens", "[inference][echo]") {
  tenantai::inference::EchoModel model("echo-test");
  tenantai::inference::CompletionRequest request;
  request.messages = {{"user", "one two three four five six seven eight nine ten"}};
  request.params.max_tokens = 4;
  auto result = model.complete(request);
  CHECK(result.output_tokens == 4);
  CHECK(model.tokenizer().count(result.text) == 4);
  request.params.max_tokens = 0;  // no limit: the whole echo
  auto whole = model.complete(request);
  CHECK(whole.output_tokens == model.tokenizer().count(whole.text));
  CHECK(whole.output_tokens > 10);
}
