// ResponseCache::lookup_many must answer exactly like lookup() key by key: hits, misses,
// counters, TTL, opt-out, sealing and errors — it only computes the digests differently.
#include <catch2/catch.hpp>
#include <tenantai/cache.h>
#include <tenantai/core.h>

#include <string>
#include <vector>

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
std::string prompt(int i) { return "prompt " + std::to_string(i) + std::string(500, 'x'); }
}  // namespace

TEST_CASE("lookup_many answers like lookup for hits, misses and messy whitespace", "[cache][response][batch]") {
  ResponseCache cache;
  with_tenant(context_for("acme"), [&](auto scope) {
    std::vector<std::string> prompts;
    for (int i = 0; i < 150; ++i) prompts.push_back(prompt(i));  // more than one 64-key step
    for (int i = 0; i < 150; i += 2) REQUIRE(cache.store(scope, {"m", "p@1", "t=0", prompts[i]}, "answer " + std::to_string(i)).ok());
    std::vector<std::string> messy;
    for (int i = 0; i < 150; ++i) messy.push_back("  " + prompts[i] + "\n");  // normalises to prompts[i]
    std::vector<ResponseKey> keys;
    for (int i = 0; i < 150; ++i) keys.push_back({"m", "p@1", "t=0", i % 3 == 0 ? std::string_view(messy[i]) : std::string_view(prompts[i])});
    keys.push_back({"m", "p@2", "t=0", prompts[0]});  // another prompt version: miss
    keys.push_back({"m", "p@1", "", prompts[0]});     // other params: miss

    const auto before = scope.view(cache.stats(scope));
    auto batch = scope.release(cache.lookup_many(scope, keys));
    REQUIRE(batch.size() == keys.size());
    for (int i = 0; i < 150; ++i) {
      INFO("key " << i);
      if (i % 2 == 0) {
        REQUIRE(batch[i].has_value());
        CHECK(*batch[i] == "answer " + std::to_string(i));
      } else {
        CHECK_FALSE(batch[i].has_value());
      }
      CHECK(scope.release(cache.lookup(scope, keys[i])) == batch[i]);
    }
    CHECK_FALSE(batch[150].has_value());
    CHECK_FALSE(batch[151].has_value());
    const auto after = scope.view(cache.stats(scope));
    CHECK(after.hits - before.hits == 2 * 75);        // the batch and the one-by-one pass
    CHECK(after.misses - before.misses == 2 * 75 + 2);
    CHECK(scope.release(cache.lookup_many(scope, std::span<const ResponseKey>{})).empty());
  });
}

TEST_CASE("lookup_many never returns another tenant's entry for identical keys", "[cache][response][batch]") {
  ResponseCache cache;
  std::vector<std::string> prompts;
  for (int i = 0; i < 40; ++i) prompts.push_back(prompt(i));
  std::vector<ResponseKey> keys;
  for (const auto& p : prompts) keys.push_back({"m", "", "", p});
  with_tenant(context_for("alice-corp"), [&](auto scope) {
    for (const auto& k : keys) REQUIRE(cache.store(scope, k, "ALICE-CANARY").ok());
  });
  with_tenant(context_for("bob-corp"), [&](auto scope) {
    for (const auto& v : scope.release(cache.lookup_many(scope, keys))) CHECK_FALSE(v.has_value());
    CHECK(scope.view(cache.stats(scope)).misses == keys.size());
  });
  with_tenant(context_for("alice-corp"), [&](auto scope) {
    for (const auto& v : scope.release(cache.lookup_many(scope, keys))) CHECK(v.value_or("") == "ALICE-CANARY");
  });
}

TEST_CASE("lookup_many honours TTL, opt-out and rejects an empty model id", "[cache][response][batch]") {
  test_support::ManualClock clock;
  ResponseCacheOptions options;
  options.ttl = 10s;
  options.clock = clock.fn();
  ResponseCache cache(options);
  with_tenant(context_for("acme"), [&](auto scope) {
    const std::string p0 = prompt(0), p1 = prompt(1);
    const ResponseKey keys[] = {{"m", "", "", p0}, {"m", "", "", p1}};
    REQUIRE(cache.store(scope, keys[0], "zero").ok());
    clock.now += 6s;
    REQUIRE(cache.store(scope, keys[1], "one").ok());
    clock.now += 6s;  // keys[0] expired, keys[1] still live
    auto batch = scope.release(cache.lookup_many(scope, keys));
    CHECK_FALSE(batch[0].has_value());
    CHECK(batch[1].value_or("") == "one");
    CHECK(scope.view(cache.stats(scope)).expirations == 1);

    const ResponseKey bad[] = {{"m", "", "", p0}, {"", "", "", p1}};
    CHECK(code_of([&] { (void)cache.lookup_many(scope, bad); }) == ErrorCode::InvalidArgument);

    cache.set_opt_out(scope, true);
    for (const auto& v : scope.release(cache.lookup_many(scope, keys))) CHECK_FALSE(v.has_value());
  });
}

TEST_CASE("lookup_many opens sealed values and drops one that fails to open", "[cache][response][batch]") {
  test_support::TestSealer sealer;
  ResponseCacheOptions options;
  options.sealer = &sealer;
  ResponseCache cache(options);
  const auto acme = context_for("acme");
  with_tenant(acme, [&](auto scope) {
    std::vector<std::string> prompts;
    std::vector<ResponseKey> keys;
    for (int i = 0; i < 10; ++i) prompts.push_back(prompt(i));
    for (const auto& p : prompts) keys.push_back({"m", "", "", p});
    for (int i = 0; i < 10; ++i) REQUIRE(cache.store(scope, keys[i], "sealed " + std::to_string(i)).ok());
    auto batch = scope.release(cache.lookup_many(scope, keys));
    for (int i = 0; i < 10; ++i) CHECK(batch[i].value_or("") == "sealed " + std::to_string(i));

    sealer.destroy(acme.tenant());  // crypto-shredding: nothing may come back as a hit
    CHECK(code_of([&] { (void)cache.lookup_many(scope, keys); }) == ErrorCode::CryptoFailure);
    CHECK(scope.view(cache.stats(scope)).entries == 9);  // the value that failed was dropped
  });
}
