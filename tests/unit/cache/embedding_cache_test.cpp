#include <catch2/catch.hpp>
#include <tenantai/cache.h>
#include <tenantai/core.h>

#include "manual_clock.h"
#include "support/error_code.h"
#include "support/test_auth.h"
#include "test_sealer.h"

using namespace tenantai;
using namespace tenantai::cache;
using tenantai::test_support::code_of;
using tenantai::test_support::context_for;
using namespace std::chrono_literals;

TEST_CASE("embeddings are cached per tenant, model and exact text", "[cache][embedding]") {
  test_support::ManualClock clock;
  EmbeddingCacheOptions o;
  o.clock = clock.fn();
  o.ttl = 1min;
  EmbeddingCache cache(o);
  const std::vector<float> va{1, 2, 3}, vb{4, 5, 6};
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(cache.store(scope, "e5", "same text", va).ok());
    CHECK(scope.view(cache.lookup(scope, "e5", "same text")).value_or(std::vector<float>{}) == va);
    CHECK_FALSE(scope.view(cache.lookup(scope, "e6", "same text")).has_value());
    CHECK_FALSE(scope.view(cache.lookup(scope, "e5", "same  text")).has_value());  // exact text
  });
  with_tenant(context_for("globex"), [&](auto scope) {
    CHECK_FALSE(scope.view(cache.lookup(scope, "e5", "same text")).has_value());
    REQUIRE(cache.store(scope, "e5", "same text", vb).ok());
    CHECK(scope.view(cache.lookup(scope, "e5", "same text")).value_or(std::vector<float>{}) == vb);
  });
  with_tenant(context_for("acme"), [&](auto scope) {
    CHECK(scope.view(cache.lookup(scope, "e5", "same text")).value_or(std::vector<float>{}) == va);
    clock.now += 2min;
    CHECK_FALSE(scope.view(cache.lookup(scope, "e5", "same text")).has_value());
    auto stats = scope.view(cache.stats(scope));
    CHECK(stats.hits == 2);
    CHECK(stats.expirations == 1);
    CHECK(code_of([&] { (void)cache.lookup(scope, "", "x"); }) == ErrorCode::InvalidArgument);
    CHECK_FALSE(cache.store(scope, "e5", "x", std::vector<float>{}).ok());
    REQUIRE(cache.store(scope, "e5", "x", va).ok());
    CHECK(cache.flush(scope) == 1);
  });
}

TEST_CASE("sealed embeddings round-trip per tenant and are shredded with the tenant's key", "[cache][embedding][sealed]") {
  test_support::TestSealer sealer;
  EmbeddingCacheOptions o;
  o.sealer = &sealer;
  EmbeddingCache cache(o);
  const std::vector<float> acme_vec{0.25f, -1.5f, 3.0f, 1e-7f}, globex_vec{9, 8, 7};
  const auto acme = context_for("acme"), globex = context_for("globex");
  with_tenant(acme, [&](auto scope) { REQUIRE(cache.store(scope, "e5", "same text", acme_vec).ok()); });
  with_tenant(globex, [&](auto scope) {
    CHECK_FALSE(scope.view(cache.lookup(scope, "e5", "same text")).has_value());
    REQUIRE(cache.store(scope, "e5", "same text", globex_vec).ok());
  });
  CHECK(sealer.seals == 2);
  with_tenant(acme, [&](auto scope) {
    CHECK(scope.view(cache.lookup(scope, "e5", "same text")).value_or(std::vector<float>{}) == acme_vec);
  });
  CHECK(sealer.opens == 1);

  sealer.destroy(acme.tenant());
  with_tenant(acme, [&](auto scope) {
    CHECK(code_of([&] { (void)cache.lookup(scope, "e5", "same text"); }) == ErrorCode::CryptoFailure);
    CHECK(scope.view(cache.stats(scope)).entries == 0);  // dropped, not served again
    CHECK(code_of([&] { (void)cache.store(scope, "e5", "other", acme_vec); }) == ErrorCode::CryptoFailure);
  });
  with_tenant(globex, [&](auto scope) {
    CHECK(scope.view(cache.lookup(scope, "e5", "same text")).value_or(std::vector<float>{}) == globex_vec);
  });
}
