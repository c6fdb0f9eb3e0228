// Adversarial isolation: 100 tenants send byte-identical and semantically identical prompts.
// Each storing tenant plants a unique canary; no tenant may ever see another's canary, in any
// of the three caches, on one thread or on eight.
#include <catch2/catch.hpp>
#include <sodium.h>
#include <tenantai/cache.h>
#include <tenantai/core.h>
#include <tenantai/inference/hashing_embedder.h>

#include <atomic>
#include <thread>
#include <vector>

#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::cache;
using tenantai::test_support::context_for;

namespace {
constexpr int kTenants = 100;
constexpr std::string_view kPrompt = "What is our refund policy for enterprise customers?";
constexpr std::string_view kParaphrase = "what is the refund policy for our enterprise customers";

struct Canaries {
  std::vector<TenantContext> contexts;
  std::vector<std::string> canaries;  // unique per tenant
  Canaries() {
    for (int t = 0; t < kTenants; ++t) {
      contexts.push_back(context_for("tenant-" + std::to_string(t)));
      canaries.push_back("CANARY-" + std::to_string(t) + "-" + std::to_string(randombytes_random()));
    }
  }
  static bool stores(int t) { return t % 2 == 0; }  // odd tenants only ever look up
};

// Embedding whose first component is unique to the tenant (to recognise it).
std::vector<float> marked_vector(int t) {
  std::vector<float> v(8, 0.5f);
  v[0] = static_cast<float>(t + 1);
  return v;
}

struct Caches {
  inference::HashingEmbedder embedder;
  std::vector<float> prompt_vec = embedder.embed_one(kPrompt);
  std::vector<float> paraphrase_vec = embedder.embed_one(kParaphrase);
  ResponseCache response;
  SemanticCache semantic{[] {
    SemanticCacheOptions o;
    o.operator_floor = 0.5f;
    o.default_threshold = 0.5f;
    return o;
  }()};
  EmbeddingCache embedding;
};

// Stores tenant t's canaries (if it is a storing tenant) into all three caches.
void plant(Caches& c, const Canaries& k, int t) {
  with_tenant(k.contexts[t], [&](auto scope) {
    (void)c.response.store(scope, {"m", "p@1", "", kPrompt}, k.canaries[t]);
    (void)c.semantic.store(scope, {"m", "p@1"}, c.prompt_vec, k.canaries[t]);
    (void)c.embedding.store(scope, "emb", kPrompt, marked_vector(t));
  });
}

constexpr int kProbes = 7;  // 4 response-cache keys (2 single, 2 batched), 2 semantic, 1 embedding

struct Outcome {
  int own = 0;      // hits that returned this tenant's own canary
  int foreign = 0;  // hits that returned anything else: must stay 0
  int misses = 0;
};

// Looks tenant t up in all three caches with the identical prompt and the paraphrase.
Outcome probe(Caches& c, const Canaries& k, int t) {
  Outcome o;
  auto judge = [&](const std::optional<std::string>& v) {
    if (!v) {
      ++o.misses;
    } else if (*v == k.canaries[t]) {
      ++o.own;
    } else {
      ++o.foreign;
    }
  };
  with_tenant(k.contexts[t], [&](auto scope) {
    judge(scope.release(c.response.lookup(scope, {"m", "p@1", "", kPrompt})));
    judge(scope.release(c.response.lookup(scope, {"m", "p@1", "", "  What is our refund policy for\tenterprise customers?"})));
    // The batch path (SIMD-lane digests) answers the same two keys.
    const ResponseKey both[] = {{"m", "p@1", "", kPrompt}, {"m", "p@1", "", " What is our  refund policy for enterprise customers? "}};
    for (const auto& v : scope.release(c.response.lookup_many(scope, both))) judge(v);
    for (const auto* q : {&c.prompt_vec, &c.paraphrase_vec}) {
      auto hit = scope.release(c.semantic.lookup(scope, {"m", "p@1"}, *q));
      judge(hit ? std::optional<std::string>(hit->value) : std::nullopt);
    }
    auto vec = scope.release(c.embedding.lookup(scope, "emb", kPrompt));
    if (!vec) {
      ++o.misses;
    } else if (*vec == marked_vector(t)) {
      ++o.own;
    } else {
      ++o.foreign;
    }
  });
  return o;
}
}  // namespace

TEST_CASE("100 tenants with identical prompts never hit each other's entries in any cache", "[cache][canary]") {
  Caches c;
  REQUIRE(inference::cosine_similarity(c.prompt_vec, c.paraphrase_vec) >= 0.5f);  // the paraphrase is "the same"
  Canaries k;
  for (int t = 0; t < kTenants; ++t) {
    if (Canaries::stores(t)) plant(c, k, t);
  }
  int own = 0, foreign = 0, stray = 0;
  for (int t = 0; t < kTenants; ++t) {
    const Outcome o = probe(c, k, t);
    foreign += o.foreign;
    if (Canaries::stores(t)) {
      own += o.own;
      CHECK(o.misses == 0);
    } else {
      stray += o.own;  // a non-storing tenant cannot have an own canary
      CHECK(o.misses == kProbes);
    }
  }
  CHECK(foreign == 0);
  CHECK(stray == 0);
  CHECK(own == 50 * kProbes);
}

TEST_CASE("the canary holds with 8 threads storing and probing concurrently", "[cache][canary][threads][concurrency]") {
  Caches c;
  Canaries k;
  std::atomic<int> foreign{0}, own{0}, stray{0}, errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 8; ++w) {
    threads.emplace_back([&, w] {
      try {
        for (int round = 0; round < 5; ++round) {
          for (int i = 0; i < kTenants; ++i) {
            const int t = (i * 7 + w * 13 + round) % kTenants;
            if (Canaries::stores(t)) plant(c, k, t);
            const Outcome o = probe(c, k, t);
            foreign += o.foreign;
            (Canaries::stores(t) ? own : stray) += o.own;
          }
        }
      } catch (...) {
        ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(errors == 0);
  CHECK(foreign == 0);
  CHECK(stray == 0);
  CHECK(own == 8 * 5 * 50 * kProbes);  // each storing tenant's probe runs after its own plant
}
