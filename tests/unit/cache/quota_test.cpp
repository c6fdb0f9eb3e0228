// A tenant flooding a cache evicts only its own entries.
#include <catch2/catch.hpp>
#include <tenantai/cache.h>
#include <tenantai/core.h>

#include <string>
#include <vector>

#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::cache;
using tenantai::test_support::context_for;

namespace {
CacheQuota quota_of(const TenantId& t) { return t.str() == "flooder" ? CacheQuota{100, 1 << 20} : CacheQuota{}; }

// "prefix<i>" (built by appending: g++ 12 warns falsely on "literal" + std::to_string()).
std::string label(std::string_view prefix, int i) {
  std::string out(prefix);
  out += std::to_string(i);
  return out;
}

std::vector<float> vec(int i) {
  std::vector<float> v(16, 0.0f);
  v[static_cast<std::size_t>(i) % 16] = 1.0f;
  v[(static_cast<std::size_t>(i) / 16) % 16] += 0.5f;
  return v;
}
}  // namespace

TEST_CASE("a flooding tenant evicts only its own response and embedding entries", "[cache][quota]") {
  ResponseCacheOptions ro;
  ro.quota_for = quota_of;
  ResponseCache responses(ro);
  EmbeddingCacheOptions eo;
  eo.quota_for = quota_of;
  EmbeddingCache embeddings(eo);
  const auto victim = context_for("victim");
  const auto flooder = context_for("flooder");
  with_tenant(victim, [&](auto scope) {
    for (int i = 0; i < 50; ++i) {
      REQUIRE(responses.store(scope, {"m", "", "", label("q", i)}, "victim").ok());
      REQUIRE(embeddings.store(scope, "e", label("q", i), vec(i)).ok());
    }
  });
  with_tenant(flooder, [&](auto scope) {
    for (int i = 0; i < 5000; ++i) {
      REQUIRE(responses.store(scope, {"m", "", "", label("flood", i)}, "flood").ok());
      REQUIRE(embeddings.store(scope, "e", label("flood", i), vec(i)).ok());
    }
    auto rs = scope.view(responses.stats(scope));
    CHECK(rs.entries == 100);
    CHECK(rs.evictions == 4900);
    CHECK(scope.view(embeddings.stats(scope)).evictions == 4900);
  });
  with_tenant(victim, [&](auto scope) {
    int hits = 0;
    for (int i = 0; i < 50; ++i) {
      hits += scope.view(responses.lookup(scope, {"m", "", "", label("q", i)})).has_value() ? 1 : 0;
      hits += scope.view(embeddings.lookup(scope, "e", label("q", i))).has_value() ? 1 : 0;
    }
    CHECK(hits == 100);
    CHECK(scope.view(responses.stats(scope)).evictions == 0);
    CHECK(scope.view(embeddings.stats(scope)).evictions == 0);
  });
}

TEST_CASE("a flooding tenant evicts only its own semantic entries", "[cache][quota]") {
  SemanticCacheOptions so;
  so.dimension = 16;
  so.quota_for = quota_of;
  so.operator_floor = 0.99f;
  so.default_threshold = 0.99f;
  SemanticCache semantic(so);
  const auto victim = context_for("victim");
  const auto flooder = context_for("flooder");
  with_tenant(victim, [&](auto scope) {
    for (int i = 0; i < 50; ++i) REQUIRE(semantic.store(scope, {"m", ""}, vec(i), label("victim-", i)).ok());
  });
  with_tenant(flooder, [&](auto scope) {
    for (int i = 0; i < 2000; ++i) REQUIRE(semantic.store(scope, {"m", ""}, vec(i), "flood").ok());
    CHECK(scope.view(semantic.stats(scope)).entries == 100);
    CHECK(scope.view(semantic.stats(scope)).evictions == 1900);
  });
  with_tenant(victim, [&](auto scope) {
    int own = 0;
    for (int i = 0; i < 50; ++i) {
      auto hit = scope.release(semantic.lookup(scope, {"m", ""}, vec(i)));
      if (hit && hit->value == label("victim-", i)) ++own;
    }
    CHECK(own == 50);
    CHECK(scope.view(semantic.stats(scope)).evictions == 0);
  });
}
