// The FAISS tier of large tenants: recall against the exact scan, the planner's fall-back to
// the exact scan when the visible set is small (a query always returns min(k, visible)), stale
// indexes after writes, background rebuilds, bad factories.
#include <catch2/catch.hpp>
#include <support/error_code.h>
#include <support/test_auth.h>
#include <tenantai/retrieval.h>

#include <set>

#include "naive_reference.h"

using namespace tenantai;
using namespace tenantai::retrieval;
using tenantai::test_support::code_of;
using tenantai::test_support::context_for;

namespace {

constexpr std::size_t kDim = 16;
constexpr std::size_t kRows = 3000;

VectorStoreOptions ann_options(bool background, std::string factory = "HNSW32,Flat") {
  auto o = test::store_options(kDim);
  o.ann.min_rows = 2000;
  o.ann.background = background;
  o.ann.factory = std::move(factory);
  return o;
}

// Every 100th document is public; the rest belong to group "rest".
std::vector<Document> big_tenant(std::mt19937& rng) {
  std::vector<Document> docs;
  for (std::size_t i = 0; i < kRows; ++i) {
    docs.push_back({test::numbered("d", i), test::random_vector(rng, kDim), {}, {}});
    if (i % 100 != 0) docs.back().acl_groups = {"rest"};
    docs.back().metadata["bucket"] = static_cast<std::int64_t>(i % 50);
  }
  return docs;
}

TenantStats stats_of(const VectorStore& store, const TenantContext& ctx) {
  return with_tenant(ctx, [&](auto scope) { return scope.release(store.stats(scope)); });
}

std::vector<Hit> search(const VectorStore& store, const TenantContext& ctx, const std::vector<float>& q, std::size_t k,
                        const Filter& filter = {}, Plan plan = Plan::Auto) {
  return with_tenant(ctx, [&](auto scope) { return scope.release(store.search(scope, q, k, filter, plan)); });
}

double recall(const std::vector<Hit>& got, const std::vector<Hit>& truth) {
  std::set<std::string> want;
  for (const auto& h : truth) want.insert(h.id);
  std::size_t found = 0;
  for (const auto& h : got) found += want.count(h.id);
  return truth.empty() ? 1.0 : static_cast<double>(found) / static_cast<double>(truth.size());
}

}  // namespace

TEST_CASE("a large tenant gets its own index, Auto queries use it with high recall, small tenants never do") {
  for (const char* factory : {"HNSW32,Flat", "IVF16,Flat"}) {
    VectorStore store(ann_options(false, factory));
    std::mt19937 rng(31);
    const auto owner = context_for("large", "u", {"rest"});
    with_tenant(owner, [&](auto scope) { store.add_batch(scope, big_tenant(rng)); });
    const auto small = context_for("small");
    with_tenant(small, [&](auto scope) { store.add(scope, {"only", test::random_vector(rng, kDim), {}, {}}); });
    REQUIRE(stats_of(store, owner).ann_ready);
    CHECK_FALSE(stats_of(store, small).ann_ready);

    double total = 0;
    for (int i = 0; i < 30; ++i) {
      const auto q = test::random_vector(rng, kDim);
      const auto approx = search(store, owner, q, 10);
      REQUIRE(approx.size() == 10);
      total += recall(approx, search(store, owner, q, 10, {}, Plan::Exact));
    }
    INFO("factory " << factory);
    CHECK(total / 30 >= 0.9);
    CHECK(stats_of(store, owner).ann_queries == 30);
    CHECK(search(store, small, test::random_vector(rng, kDim), 10).size() == 1);
  }
}

TEST_CASE("when ACL or filter leaves few rows the planner scans exactly: always min(k, visible) results") {
  VectorStore store(ann_options(false));
  std::mt19937 rng(32);
  const auto docs = big_tenant(rng);
  with_tenant(context_for("large"), [&](auto scope) { store.add_batch(scope, docs); });
  const auto outsider = context_for("large", "guest", {});  // sees the 30 public documents only
  for (int i = 0; i < 10; ++i) {
    const auto q = test::random_vector(rng, kDim);
    REQUIRE(test::ids_of(search(store, outsider, q, 10)) == test::naive_top_k(docs, q, 10, Metric::InnerProduct));
  }
  const auto member = context_for("large", "member", {"rest"});
  const Filter one_bucket = Filter{}.equals("bucket", std::int64_t{7});  // 60 rows: 2%
  for (int i = 0; i < 10; ++i) {
    const auto q = test::random_vector(rng, kDim);
    REQUIRE(test::ids_of(search(store, member, q, 100, one_bucket)) ==
            test::naive_top_k(docs, q, 100, Metric::InnerProduct, {"rest"}, one_bucket));
  }
  CHECK(stats_of(store, member).exact_queries == 20);
}

TEST_CASE("a write makes the index stale: exact answers at once, then a background rebuild") {
  VectorStore store(ann_options(true));
  std::mt19937 rng(33);
  auto docs = big_tenant(rng);
  const auto ctx = context_for("large", "u", {"rest"});
  with_tenant(ctx, [&](auto scope) { store.add_batch(scope, docs); });
  store.wait_for_ann_builds();
  REQUIRE(stats_of(store, ctx).ann_ready);

  // A new document right on the query: the stale index does not know it, the answer must.
  const auto q = test::random_vector(rng, kDim);
  std::vector<float> planted = q;
  for (float& x : planted) x *= 100.f;
  with_tenant(ctx, [&](auto scope) { store.add(scope, {"planted", planted, {}, {}}); });
  const auto hits = search(store, ctx, q, 5);
  REQUIRE_FALSE(hits.empty());
  CHECK(hits[0].id == "planted");
  store.wait_for_ann_builds();
  const auto s = stats_of(store, ctx);
  CHECK(s.ann_ready);
  CHECK(s.ann_builds == 2);
  CHECK(search(store, ctx, q, 5)[0].id == "planted");  // the rebuilt index has it
}

TEST_CASE("a factory FAISS rejects is refused up front, a failed build leaves the tenant on the exact scan") {
  CHECK(code_of([] { VectorStore bad(ann_options(false, "NoSuchIndex")); }) == ErrorCode::InvalidArgument);

  VectorStore store(ann_options(false, "IVF64,Flat"));  // needs at least 64 training rows
  std::mt19937 rng(34);
  const auto ctx = context_for("tiny");
  std::vector<Document> docs;
  for (std::size_t i = 0; i < 10; ++i) docs.push_back({test::numbered("t", i), test::random_vector(rng, kDim), {}, {}});
  with_tenant(ctx, [&](auto scope) { store.add_batch(scope, docs); });
  CHECK(code_of([&] { with_tenant(ctx, [&](auto scope) { store.build_ann(scope); }); }) == ErrorCode::Unavailable);
  CHECK_FALSE(stats_of(store, ctx).ann_ready);
  const auto q = test::random_vector(rng, kDim);
  CHECK(test::ids_of(search(store, ctx, q, 4)) == test::naive_top_k(docs, q, 4, Metric::InnerProduct));
}
