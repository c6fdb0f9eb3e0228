#include <catch2/catch.hpp>
#include <tenantai/cache.h>
#include <tenantai/core.h>
#include <tenantai/inference/hashing_embedder.h>

#include <cmath>
#include <limits>

#include "manual_clock.h"
#include "support/error_code.h"
#include "support/test_auth.h"
#include "test_sealer.h"

using namespace tenantai;
using namespace tenantai::cache;
using tenantai::test_support::code_of;
using tenantai::test_support::context_for;
using namespace std::chrono_literals;

namespace {
SemanticCacheOptions options_with(float floor, float threshold) {
  SemanticCacheOptions o;
  o.operator_floor = floor;
  o.default_threshold = threshold;
  return o;
}
}  // namespace

TEST_CASE("a similar question hits, an unrelated one misses, and the best match wins", "[cache][semantic]") {
  inference::HashingEmbedder embedder;
  SemanticCache cache(options_with(0.5f, 0.6f));
  const auto q_refund = embedder.embed_one("how do I get a refund for my order");
  const auto q_refund2 = embedder.embed_one("how can I get a refund for my order");
  const auto q_weather = embedder.embed_one("weather forecast for tomorrow in Paris");
  const auto q_shipping = embedder.embed_one("how do I track shipping for my order");
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(cache.store(scope, {"m", "v1"}, q_refund, "refund answer").ok());
    REQUIRE(cache.store(scope, {"m", "v1"}, q_shipping, "shipping answer").ok());
    auto hit = scope.release(cache.lookup(scope, {"m", "v1"}, q_refund2));
    REQUIRE(hit.has_value());
    CHECK(hit->value == "refund answer");
    CHECK(hit->similarity >= 0.6f);
    CHECK(hit->similarity <= 1.0f);
    CHECK_FALSE(scope.view(cache.lookup(scope, {"m", "v1"}, q_weather)).has_value());
    // Another model or prompt version never reuses the answer.
    CHECK_FALSE(scope.view(cache.lookup(scope, {"m2", "v1"}, q_refund)).has_value());
    CHECK_FALSE(scope.view(cache.lookup(scope, {"m", "v2"}, q_refund)).has_value());
  });
}

TEST_CASE("a tenant may raise its threshold but never lower it below the operator floor", "[cache][semantic]") {
  SemanticCache cache(options_with(0.8f, 0.85f));
  CHECK(cache.operator_floor() == 0.8f);
  std::vector<float> a(384, 0.0f), b(384, 0.0f);
  a[0] = 1.0f;
  b[0] = 0.9f;  // cosine(a, b) ≈ 0.9
  b[1] = std::sqrt(1.0f - 0.81f);
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(cache.store(scope, {"m", ""}, a, "A").ok());
    CHECK(cache.threshold(scope) == 0.85f);
    CHECK(scope.view(cache.lookup(scope, {"m", ""}, b)).has_value());
    auto lowered = cache.set_threshold(scope, 0.5f);
    REQUIRE_FALSE(lowered.ok());
    CHECK(lowered.error().code() == ErrorCode::InvalidArgument);
    CHECK_THAT(lowered.error().message(), Catch::Contains("floor"));
    CHECK(cache.threshold(scope) == 0.85f);
    CHECK_FALSE(cache.set_threshold(scope, 1.5f).ok());
    CHECK_FALSE(cache.set_threshold(scope, std::numeric_limits<float>::quiet_NaN()).ok());
    REQUIRE(cache.set_threshold(scope, 0.95f).ok());
    CHECK_FALSE(scope.view(cache.lookup(scope, {"m", ""}, b)).has_value());
    CHECK(scope.view(cache.lookup(scope, {"m", ""}, a)).has_value());
  });
  with_tenant(context_for("globex"), [&](auto scope) { CHECK(cache.threshold(scope) == 0.85f); });
  CHECK(code_of([] { SemanticCache bad(options_with(0.9f, 0.8f)); }) == ErrorCode::InvalidArgument);
  CHECK(code_of([] { SemanticCache bad(options_with(0.0f, 0.8f)); }) == ErrorCode::InvalidArgument);
}

TEST_CASE("semantic lookups reject wrong dimensions and zero or non-finite vectors", "[cache][semantic]") {
  SemanticCache cache;
  with_tenant(context_for("acme"), [&](auto scope) {
    const std::vector<float> small(10, 1.0f), zero(384, 0.0f);
    std::vector<float> nan(384, 1.0f);
    nan[3] = std::numeric_limits<float>::quiet_NaN();
    CHECK(code_of([&] { (void)cache.lookup(scope, {"m", ""}, small); }) == ErrorCode::InvalidArgument);
    CHECK(code_of([&] { (void)cache.lookup(scope, {"m", ""}, zero); }) == ErrorCode::InvalidArgument);
    CHECK(code_of([&] { (void)cache.lookup(scope, {"m", ""}, nan); }) == ErrorCode::InvalidArgument);
    CHECK_FALSE(cache.store(scope, {"m", ""}, small, "x").ok());
    CHECK_FALSE(cache.store(scope, {"", ""}, std::vector<float>(384, 1.0f), "x").ok());
    CHECK(scope.view(cache.stats(scope)).entries == 0);
  });
}

TEST_CASE("semantic entries expire, flush, opt out and can be sealed", "[cache][semantic]") {
  test_support::ManualClock clock;
  test_support::TestSealer sealer;
  SemanticCacheOptions o = options_with(0.9f, 0.9f);
  o.dimension = 4;
  o.ttl = 5s;
  o.clock = clock.fn();
  o.sealer = &sealer;
  SemanticCache cache(o);
  const std::vector<float> v{1, 2, 3, 4};
  const auto acme = context_for("acme");
  with_tenant(acme, [&](auto scope) {
    REQUIRE(cache.store(scope, {"m", ""}, v, "sealed answer").ok());
    CHECK(scope.release(cache.lookup(scope, {"m", ""}, v))->value == "sealed answer");
    clock.now += 6s;
    CHECK_FALSE(scope.view(cache.lookup(scope, {"m", ""}, v)).has_value());
    CHECK(scope.view(cache.stats(scope)).expirations == 1);
    REQUIRE(cache.store(scope, {"m", ""}, v, "again").ok());
    CHECK(cache.flush(scope) == 1);
    REQUIRE(cache.store(scope, {"m", ""}, v, "again").ok());
    cache.set_opt_out(scope, true);
    CHECK_FALSE(scope.view(cache.lookup(scope, {"m", ""}, v)).has_value());
    cache.set_opt_out(scope, false);
    REQUIRE(cache.store(scope, {"m", ""}, v, "third").ok());
  });
  sealer.destroy(acme.tenant());
  with_tenant(acme, [&](auto scope) {
    CHECK(code_of([&] { (void)cache.lookup(scope, {"m", ""}, v); }) == ErrorCode::CryptoFailure);
  });
}
