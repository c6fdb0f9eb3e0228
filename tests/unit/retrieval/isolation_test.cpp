// Adversarial isolation: every tenant holds a canary planted right next to every other tenant's
// query. If any query ever scanned another tenant's rows, that canary would win. Checked
// statically and under 2 writer + 2 reader threads (no Catch2 assertions inside the threads:
// counts in atomics, asserted after join).
#include <catch2/catch.hpp>
#include <support/test_auth.h>
#include <tenantai/retrieval.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "naive_reference.h"

using namespace tenantai;
using namespace tenantai::retrieval;
using tenantai::test_support::context_for;

namespace {

constexpr std::size_t kTenants = 200;
constexpr std::size_t kDim = 32;

std::string prefix_of(std::size_t t) { return test::numbered("t", t) + "-"; }

struct CanaryWorld {
  std::vector<TenantContext> contexts;
  std::vector<std::vector<float>> queries;  // tenant t's query

  CanaryWorld() {
    std::mt19937 rng(2024);
    for (std::size_t t = 0; t < kTenants; ++t) {
      contexts.push_back(context_for(test::numbered("tenant-", t), "reader", {"staff"}));
      auto q = test::random_vector(rng, kDim);
      detail_normalise(q);
      queries.push_back(std::move(q));
    }
  }

  static void detail_normalise(std::vector<float>& v) {
    double s = 0;
    for (float x : v) s += static_cast<double>(x) * x;
    for (float& x : v) x = static_cast<float>(x / std::sqrt(s));
  }

  // A document of tenant `owner` planted next to tenant `target`'s query.
  Document canary(std::size_t owner, std::size_t target, std::mt19937& rng, const std::string& tag = "near") const {
    auto v = queries[target];
    std::normal_distribution<float> noise(0.f, 0.01f);
    for (float& x : v) x += noise(rng);
    std::vector<std::string> groups;
    if (target % 3 == 0) groups = {"staff"};  // some canaries sit behind the reader's own ACL group
    return {prefix_of(owner) + tag + test::numbered("-", target), std::move(v), std::move(groups), {}};
  }

  // Refills a tenant with upserts (another writer may already have put some of its documents
  // back after a drop, so all-or-nothing inserts would rightly refuse).
  void refill(VectorStore& store, std::size_t owner, std::mt19937& rng) const {
    with_tenant(contexts[owner], [&](auto scope) {
      for (std::size_t target = 0; target < kTenants; ++target) {
        if (target != owner) store.upsert(scope, canary(owner, target, rng));
      }
    });
  }

  void fill(VectorStore& store, std::size_t owner, std::mt19937& rng) const {
    std::vector<Document> docs;
    for (std::size_t target = 0; target < kTenants; ++target) {
      if (target != owner) docs.push_back(canary(owner, target, rng));
    }
    for (int j = 0; j < 5; ++j) docs.push_back({prefix_of(owner) + test::numbered("own-", j), test::random_vector(rng, kDim), {}, {}});
    with_tenant(contexts[owner], [&](auto scope) { store.add_batch(scope, std::move(docs)); });
  }

  // Number of hits of tenant t's query that do not belong to t.
  std::size_t crossings(const VectorStore& store, std::size_t t, bool batch) const {
    std::vector<Hit> hits;
    if (batch) {
      hits = with_tenant(contexts[t], [&](auto scope) { return scope.release(store.search_batch(scope, queries[t], 10)); })[0];
    } else {
      hits = with_tenant(contexts[t], [&](auto scope) { return scope.release(store.search(scope, queries[t], 10)); });
    }
    std::size_t foreign = 0;
    for (const auto& h : hits) foreign += h.id.rfind(prefix_of(t), 0) == 0 ? 0 : 1;
    return foreign;
  }
};

}  // namespace

TEST_CASE("200 tenants with canaries next to every other tenant's query: no query ever crosses") {
  CanaryWorld world;
  VectorStore store(test::store_options(kDim));
  std::mt19937 rng(1);
  for (std::size_t t = 0; t < kTenants; ++t) world.fill(store, t, rng);
  REQUIRE(store.tenant_count() == kTenants);

  // The canaries are real: a shared scan (what isolation prevents) would return them first.
  std::size_t hits_checked = 0;
  for (std::size_t t = 0; t < kTenants; ++t) {
    REQUIRE(world.crossings(store, t, false) == 0);
    REQUIRE(world.crossings(store, t, true) == 0);
    hits_checked += 10;
  }
  CHECK(hits_checked == kTenants * 10);
}

TEST_CASE("canaries never cross under 2 writer and 2 reader threads (writes, upserts, removes, drops)", "[concurrency]") {
  CanaryWorld world;
  VectorStore store(test::store_options(kDim));
  {
    std::mt19937 rng(2);
    for (std::size_t t = 0; t < kTenants; ++t) world.fill(store, t, rng);
  }
  std::atomic<std::size_t> crossings{0}, queries{0}, writes{0}, errors{0};
  std::mutex error_mutex;
  std::string first_error;
  auto note_error = [&](const std::exception& e) {
    std::lock_guard lock(error_mutex);
    if (first_error.empty()) first_error = e.what();
    ++errors;
  };
  std::atomic<bool> stop{false};

  auto writer = [&](unsigned seed) {
    std::mt19937 rng(seed);
    try {
      for (int op = 0; op < 2500; ++op) {
        const std::size_t owner = rng() % kTenants;
        const std::size_t target = rng() % kTenants;
        if (target == owner) continue;
        with_tenant(world.contexts[owner], [&](auto scope) {
          switch (rng() % 4) {
            case 0: store.upsert(scope, world.canary(owner, target, rng)); break;
            case 1: store.upsert(scope, world.canary(owner, target, rng, "extra")); break;
            case 2: store.remove(scope, prefix_of(owner) + test::numbered("extra-", target)); break;
            default:
              if (op % 97 == 0) {  // now and then a whole tenant is dropped and refilled
                store.drop_tenant(scope);
                world.refill(store, owner, rng);
              } else {
                store.remove(scope, prefix_of(owner) + test::numbered("near-", target));
              }
          }
        });
        ++writes;
      }
    } catch (const std::exception& e) {
      note_error(e);
    }
  };
  auto reader = [&](unsigned seed) {
    std::mt19937 rng(seed);
    try {
      while (!stop.load()) {
        const std::size_t t = rng() % kTenants;
        crossings += world.crossings(store, t, rng() % 4 == 0);
        ++queries;
      }
    } catch (const std::exception& e) {
      note_error(e);
    }
  };
  std::thread r1(reader, 11), r2(reader, 12);
  std::thread w1(writer, 21), w2(writer, 22);
  w1.join();
  w2.join();
  stop = true;
  r1.join();
  r2.join();
  INFO("first error in a worker: " << first_error);
  CHECK(errors.load() == 0);
  CHECK(crossings.load() == 0);
  CHECK(writes.load() > 4000);
  CHECK(queries.load() > 100);
  // And after the storm every tenant still answers only with its own documents.
  for (std::size_t t = 0; t < kTenants; ++t) REQUIRE(world.crossings(store, t, false) == 0);
}
