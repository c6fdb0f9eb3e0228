#include <catch2/catch.hpp>
#include <tenantai/cache.h>
#include <tenantai/core.h>

#include <random>

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
ResponseKey key(std::string_view input, std::string_view model = "m1", std::string_view version = "p@1",
                std::string_view params = "t=0") {
  return ResponseKey{model, version, params, input};
}
}  // namespace

TEST_CASE("a stored response hits for the same key and misses for any other part", "[cache][response]") {
  ResponseCache cache;
  with_tenant(context_for("acme"), [&](auto scope) {
    CHECK_FALSE(scope.view(cache.lookup(scope, key("hello"))).has_value());
    REQUIRE(cache.store(scope, key("hello"), "answer").ok());
    auto hit = scope.release(cache.lookup(scope, key("hello")));
    REQUIRE(hit.has_value());
    CHECK(*hit == "answer");
    CHECK_FALSE(scope.view(cache.lookup(scope, key("hello", "m2"))).has_value());
    CHECK_FALSE(scope.view(cache.lookup(scope, key("hello", "m1", "p@2"))).has_value());
    CHECK_FALSE(scope.view(cache.lookup(scope, key("hello", "m1", "p@1", "t=1"))).has_value());
    CHECK_FALSE(scope.view(cache.lookup(scope, key("Hello"))).has_value());  // case is kept
    auto stats = scope.view(cache.stats(scope));
    CHECK(stats.hits == 1);
    CHECK(stats.misses == 5);
    CHECK(stats.insertions == 1);
    CHECK(stats.entries == 1);
  });
}

TEST_CASE("the input is whitespace-normalised and the key parts are framed unambiguously", "[cache][response]") {
  CHECK(normalise_input("  what\tis \n\n the   answer? ") == "what is the answer?");
  CHECK(normalise_input(" \t\n").empty());
  ResponseCache cache;
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(cache.store(scope, key("what is  the answer?"), "42").ok());
    CHECK(scope.view(cache.lookup(scope, key("\twhat  is the\nanswer?  "))).value_or("") == "42");
    // "ab" + "c" must not collide with "a" + "bc".
    REQUIRE(cache.store(scope, ResponseKey{"ab", "c", "", "x"}, "first").ok());
    CHECK_FALSE(scope.view(cache.lookup(scope, ResponseKey{"a", "bc", "", "x"})).has_value());
    CHECK_FALSE(scope.view(cache.lookup(scope, ResponseKey{"ab", "", "c", "x"})).has_value());
  });
}

TEST_CASE("the streamed key normalisation agrees with normalise_input on random inputs", "[cache][response]") {
  ResponseCache cache;
  std::mt19937 rng(1234);
  const char alphabet[] = {'a', 'b', ' ', ' ', '\t', '\n', '\r', 'x'};
  int hits = 0;
  with_tenant(context_for("acme"), [&](auto scope) {
    for (int i = 0; i < 300; ++i) {
      std::string raw;
      const std::size_t len = rng() % 40;
      for (std::size_t j = 0; j < len; ++j) raw += alphabet[rng() % sizeof alphabet];
      raw += std::to_string(i);  // distinct keys
      REQUIRE(cache.store(scope, key(normalise_input(raw)), "v").ok());
      hits += scope.view(cache.lookup(scope, key(raw))).has_value() ? 1 : 0;
    }
  });
  CHECK(hits == 300);
}

TEST_CASE("bad input is refused and stores nothing", "[cache][response]") {
  ResponseCacheOptions options;
  options.quota_for = [](const TenantId&) { return CacheQuota{10, 100}; };
  ResponseCache cache(options);
  with_tenant(context_for("acme"), [&](auto scope) {
    auto empty_model = cache.store(scope, key("q", ""), "a");
    REQUIRE_FALSE(empty_model.ok());
    CHECK(empty_model.error().code() == ErrorCode::InvalidArgument);
    auto too_big = cache.store(scope, key("q"), std::string(200, 'x'));
    REQUIRE_FALSE(too_big.ok());
    CHECK(too_big.error().code() == ErrorCode::InvalidArgument);
    CHECK_THAT(too_big.error().message(), Catch::Contains("quota"));
    CHECK(code_of([&] { (void)cache.lookup(scope, key("q", "")); }) == ErrorCode::InvalidArgument);
    CHECK(scope.view(cache.stats(scope)).entries == 0);
  });
  ResponseCacheOptions zero;
  zero.quota_for = [](const TenantId&) { return CacheQuota{0, 100}; };
  ResponseCache refusing(zero);
  with_tenant(context_for("acme"), [&](auto scope) {
    CHECK(code_of([&] { (void)refusing.store(scope, key("q"), "a"); }) == ErrorCode::InvalidArgument);
  });
}

TEST_CASE("entries expire after the TTL and the least recently used entry is evicted first", "[cache][response]") {
  test_support::ManualClock clock;
  ResponseCacheOptions options;
  options.ttl = 10s;
  options.clock = clock.fn();
  options.quota_for = [](const TenantId&) { return CacheQuota{3, 1 << 20}; };
  ResponseCache cache(options);
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(cache.store(scope, key("a"), "A").ok());
    REQUIRE(cache.store(scope, key("b"), "B").ok());
    REQUIRE(cache.store(scope, key("c"), "C").ok());
    CHECK(scope.view(cache.lookup(scope, key("a"))).has_value());  // a is now most recent
    REQUIRE(cache.store(scope, key("d"), "D").ok());                // evicts b
    CHECK_FALSE(scope.view(cache.lookup(scope, key("b"))).has_value());
    CHECK(scope.view(cache.lookup(scope, key("a"))).has_value());
    CHECK(scope.view(cache.lookup(scope, key("c"))).has_value());
    CHECK(scope.view(cache.lookup(scope, key("d"))).has_value());
    CHECK(scope.view(cache.stats(scope)).evictions == 1);
    clock.now += 11s;
    CHECK_FALSE(scope.view(cache.lookup(scope, key("a"))).has_value());
    auto stats = scope.view(cache.stats(scope));
    CHECK(stats.expirations == 1);
    CHECK(stats.entries == 2);
  });
}

TEST_CASE("the byte quota counts value, model id and prompt version", "[cache][response]") {
  ResponseCacheOptions options;
  options.quota_for = [](const TenantId&) { return CacheQuota{100, 30}; };
  ResponseCache cache(options);
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(cache.store(scope, key("a", "m", "v"), std::string(10, 'x')).ok());  // 12 bytes
    REQUIRE(cache.store(scope, key("b", "m", "v"), std::string(10, 'x')).ok());  // 24
    REQUIRE(cache.store(scope, key("c", "m", "v"), std::string(10, 'x')).ok());  // 36 > 30: evict a
    auto stats = scope.view(cache.stats(scope));
    CHECK(stats.bytes == 24);
    CHECK(stats.entries == 2);
    CHECK_FALSE(scope.view(cache.lookup(scope, key("a", "m", "v"))).has_value());
    // Replacing an entry does not double-count it.
    REQUIRE(cache.store(scope, key("c", "m", "v"), std::string(4, 'y')).ok());
    CHECK(scope.view(cache.stats(scope)).bytes == 18);
  });
}

TEST_CASE("invalidation by model or prompt version and flush touch only the calling tenant", "[cache][response]") {
  ResponseCache cache;
  auto fill = [&](const TenantContext& ctx) {
    with_tenant(ctx, [&](auto scope) {
      REQUIRE(cache.store(scope, key("q1", "m1", "v1"), "x").ok());
      REQUIRE(cache.store(scope, key("q2", "m1", "v2"), "x").ok());
      REQUIRE(cache.store(scope, key("q3", "m2", "v1"), "x").ok());
    });
  };
  const auto acme = context_for("acme");
  const auto globex = context_for("globex");
  fill(acme);
  fill(globex);
  with_tenant(acme, [&](auto scope) {
    CHECK(cache.invalidate_model(scope, "m1") == 2);
    CHECK(cache.invalidate_prompt_version(scope, "v1") == 1);
    CHECK(scope.view(cache.stats(scope)).entries == 0);
    CHECK(scope.view(cache.stats(scope)).invalidations == 3);
  });
  with_tenant(globex, [&](auto scope) {
    CHECK(scope.view(cache.stats(scope)).entries == 3);
    CHECK(scope.view(cache.lookup(scope, key("q1", "m1", "v1"))).has_value());
    CHECK(cache.flush(scope) == 3);
    CHECK(scope.view(cache.stats(scope)).entries == 0);
    CHECK(scope.view(cache.stats(scope)).hits == 1);  // counters survive a flush
  });
}

TEST_CASE("a tenant that opts out is never cached and its entries are dropped", "[cache][response]") {
  ResponseCache cache;
  with_tenant(context_for("acme"), [&](auto scope) {
    REQUIRE(cache.store(scope, key("q"), "a").ok());
    cache.set_opt_out(scope, true);
    CHECK(cache.opted_out(scope));
    CHECK_FALSE(scope.view(cache.lookup(scope, key("q"))).has_value());
    REQUIRE(cache.store(scope, key("q"), "a").ok());
    CHECK_FALSE(scope.view(cache.lookup(scope, key("q"))).has_value());
    CHECK(scope.view(cache.stats(scope)).entries == 0);
    cache.set_opt_out(scope, false);
    CHECK_FALSE(scope.view(cache.lookup(scope, key("q"))).has_value());
  });
  with_tenant(context_for("globex"), [&](auto scope) { CHECK_FALSE(cache.opted_out(scope)); });
}

TEST_CASE("sealed responses open only for their tenant and fail closed once the key is destroyed",
          "[cache][response][sealing]") {
  test_support::TestSealer sealer;
  ResponseCacheOptions options;
  options.sealer = &sealer;
  ResponseCache cache(options);
  const auto acme = context_for("acme");
  with_tenant(acme, [&](auto scope) {
    REQUIRE(cache.store(scope, key("q"), "secret answer").ok());
    CHECK(scope.view(cache.lookup(scope, key("q"))).value_or("") == "secret answer");
  });
  CHECK(sealer.seals == 1);
  CHECK(sealer.opens == 1);
  sealer.destroy(acme.tenant());
  with_tenant(acme, [&](auto scope) {
    CHECK(code_of([&] { (void)cache.lookup(scope, key("q")); }) == ErrorCode::CryptoFailure);
    // The entry that could not be opened is gone: the next lookup is a plain miss.
    CHECK_FALSE(scope.view(cache.lookup(scope, key("q"))).has_value());
    CHECK(code_of([&] { (void)cache.store(scope, key("q"), "again"); }) == ErrorCode::CryptoFailure);
  });
}
