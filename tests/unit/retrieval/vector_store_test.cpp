// VectorStore basics: exact results against the naive reference (every metric, every kernel
// ISA), writes, validation, drop, stats and the batch path.
#include <catch2/catch.hpp>
#include <support/error_code.h>
#include <support/test_auth.h>
#include <tenantai/retrieval.h>

#include <map>
#include <optional>

#include "naive_reference.h"

using namespace tenantai;
using namespace tenantai::retrieval;
using tenantai::test_support::code_of;
using tenantai::test_support::context_for;

namespace {

std::vector<Hit> search(const VectorStore& store, const TenantContext& ctx, const std::vector<float>& q, std::size_t k,
                        const Filter& filter = {}, Plan plan = Plan::Auto) {
  return with_tenant(ctx, [&](auto scope) { return scope.release(store.search(scope, q, k, filter, plan)); });
}

void add_all(VectorStore& store, const TenantContext& ctx, std::vector<Document> docs) {
  with_tenant(ctx, [&](auto scope) { store.add_batch(scope, std::move(docs)); });
}

TenantStats stats_of(const VectorStore& store, const TenantContext& ctx) {
  return with_tenant(ctx, [&](auto scope) { return scope.release(store.stats(scope)); });
}

std::vector<Document> random_docs(std::mt19937& rng, std::size_t n, std::size_t dim, const std::string& prefix) {
  std::vector<Document> docs;
  for (std::size_t i = 0; i < n; ++i) docs.push_back({test::numbered(prefix, i), test::random_vector(rng, dim), {}, {}});
  return docs;
}

struct RestoreIsa {
  ~RestoreIsa() { force_kernel_isa(best_kernel_isa()); }
};

}  // namespace

TEST_CASE("exact search equals the naive reference for every metric and every kernel ISA") {
  RestoreIsa restore;
  const std::size_t dim = 37;  // not a multiple of any vector width: tails on every path
  const auto ctx = context_for("acme");
  for (Metric metric : {Metric::InnerProduct, Metric::Cosine, Metric::L2}) {
    VectorStore store(test::store_options(dim, metric));
    std::mt19937 rng(7);
    auto docs = random_docs(rng, 517, dim, "d");
    add_all(store, ctx, docs);
    for (KernelIsa isa : {KernelIsa::Scalar, KernelIsa::Avx2, KernelIsa::Avx512}) {
      if (!force_kernel_isa(isa)) {
        WARN("kernel ISA " << to_string(isa) << " not supported by this CPU: skipped");
        continue;
      }
      for (int i = 0; i < 10; ++i) {
        const auto q = test::random_vector(rng, dim);
        const auto hits = search(store, ctx, q, 10);
        INFO("metric " << to_string(metric) << ", isa " << to_string(isa));
        REQUIRE(test::ids_of(hits) == test::naive_top_k(docs, q, 10, metric));
        for (std::size_t h = 0; h + 1 < hits.size(); ++h) {
          CHECK((metric == Metric::L2 ? hits[h].score <= hits[h + 1].score : hits[h].score >= hits[h + 1].score));
        }
      }
    }
  }
}

TEST_CASE("a query returns min(k, visible documents) hits, an unknown tenant has none") {
  VectorStore store(test::store_options(8));
  std::mt19937 rng(1);
  const auto ctx = context_for("small");
  add_all(store, ctx, random_docs(rng, 3, 8, "x"));
  CHECK(search(store, ctx, test::random_vector(rng, 8), 10).size() == 3);
  CHECK(search(store, ctx, test::random_vector(rng, 8), 2).size() == 2);
  CHECK(search(store, context_for("nobody"), test::random_vector(rng, 8), 10).empty());
  with_tenant(ctx, [&](auto scope) {
    auto hits = store.search(scope, test::random_vector(rng, 8), 1);
    CHECK(hits.tenant() == TenantId("small"));
  });
}

TEST_CASE("bad input is rejected with a clear error naming it, and nothing is stored") {
  VectorStore store(test::store_options(4));
  const auto ctx = context_for("acme");
  std::vector<float> v{1, 2, 3, 4};
  with_tenant(ctx, [&](auto scope) {
    store.add(scope, {"a", v, {}, {}});
    CHECK(code_of([&] { store.add(scope, {"a", v, {}, {}}); }) == ErrorCode::AlreadyExists);
    CHECK(code_of([&] { store.add(scope, {"", v, {}, {}}); }) == ErrorCode::InvalidArgument);
    CHECK(code_of([&] { store.add(scope, {"b", {1, 2, 3}, {}, {}}); }) == ErrorCode::InvalidArgument);
    CHECK(code_of([&] { store.add(scope, {"b", {1, 2, 3, NAN}, {}, {}}); }) == ErrorCode::InvalidArgument);
    CHECK(code_of([&] { store.add(scope, {std::string(300, 'x'), v, {}, {}}); }) == ErrorCode::InvalidArgument);
    try {
      store.add_batch(scope, {{"ok-1", v, {}, {}}, {"bad-dims", {1}, {}, {}}});
      FAIL("expected InvalidArgument");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::InvalidArgument);
      CHECK_THAT(e.message(), Catch::Contains("bad-dims") && Catch::Contains("dimensions"));
    }
    CHECK(code_of([&] { store.add_batch(scope, {{"twice", v, {}, {}}, {"twice", v, {}, {}}}); }) ==
          ErrorCode::InvalidArgument);
    CHECK(code_of([&] { store.add_batch(scope, {{"new", v, {}, {}}, {"a", v, {}, {}}}); }) == ErrorCode::AlreadyExists);
    CHECK(code_of([&] { (void)store.search(scope, std::vector<float>{1, 2}, 3); }) == ErrorCode::InvalidArgument);
    CHECK(code_of([&] { (void)store.search(scope, v, 0); }) == ErrorCode::InvalidArgument);
    CHECK(code_of([&] { (void)store.search(scope, v, 3, Filter{}.equals("", 1)); }) == ErrorCode::InvalidArgument);
    CHECK(store.stats(scope).tenant() == TenantId("acme"));
    CHECK(scope.release(store.stats(scope)).documents == 1);  // only "a" made it
  });
  CHECK(code_of([] { VectorStore bad(test::store_options(0)); }) == ErrorCode::InvalidArgument);
}

TEST_CASE("upserts and removes keep search equal to the naive reference") {
  const std::size_t dim = 16;
  VectorStore store(test::store_options(dim, Metric::L2));
  const auto ctx = context_for("churn");
  std::mt19937 rng(3);
  std::map<std::string, Document> model;
  std::uniform_int_distribution<int> id_dist(0, 399);
  for (int step = 0; step < 3000; ++step) {
    const std::string id = test::numbered("doc-", static_cast<std::size_t>(id_dist(rng)));
    const int op = static_cast<int>(rng() % 3);
    with_tenant(ctx, [&](auto scope) {
      if (op < 2) {
        Document d{id, test::random_vector(rng, dim), {}, {}};
        const bool replaced = store.upsert(scope, d);
        CHECK(replaced == (model.count(id) == 1));
        model[id] = d;
      } else {
        CHECK(store.remove(scope, id) == (model.erase(id) == 1));
      }
    });
    if (step % 250 == 0) {
      std::vector<Document> docs;
      for (const auto& [_, d] : model) docs.push_back(d);
      const auto q = test::random_vector(rng, dim);
      REQUIRE(test::ids_of(search(store, ctx, q, 7)) == test::naive_top_k(docs, q, 7, Metric::L2));
      REQUIRE(stats_of(store, ctx).documents == model.size());
    }
  }
}

TEST_CASE("drop_tenant hides the tenant at once, frees it and leaves other tenants intact") {
  VectorStore store(test::store_options(8));
  std::mt19937 rng(5);
  const auto a = context_for("drop-me");
  const auto b = context_for("keep-me");
  add_all(store, a, random_docs(rng, 1000, 8, "a"));
  add_all(store, b, random_docs(rng, 10, 8, "b"));
  CHECK(store.tenant_count() == 2);
  CHECK(with_tenant(a, [&](auto scope) { return store.drop_tenant(scope); }));
  CHECK(search(store, a, test::random_vector(rng, 8), 5).empty());
  CHECK(stats_of(store, a).documents == 0);
  CHECK(store.tenant_count() == 1);
  CHECK(search(store, b, test::random_vector(rng, 8), 5).size() == 5);
  CHECK_FALSE(with_tenant(a, [&](auto scope) { return store.drop_tenant(scope); }));
  add_all(store, a, random_docs(rng, 2, 8, "again"));  // the tenant starts over, empty
  CHECK(stats_of(store, a).documents == 2);
}

TEST_CASE("blocks are size-classed: small tenants hold small blocks, waste stays under 1/16") {
  VectorStore store(test::store_options(4));
  std::mt19937 rng(9);
  const auto tiny = context_for("tiny");
  add_all(store, tiny, random_docs(rng, 3, 4, "t"));
  CHECK(stats_of(store, tiny).capacity_rows == 3);
  const auto big = context_for("big");
  for (std::size_t n : {100u, 1000u, 5000u}) {
    const auto before = stats_of(store, big).documents;
    add_all(store, big, random_docs(rng, n - before, 4, test::numbered("b", n) + "-"));
    const auto s = stats_of(store, big);
    CHECK(s.documents == n);
    CHECK(s.capacity_rows >= n);
    CHECK(s.capacity_rows * 16 <= n * 17);
  }
}

TEST_CASE("search_batch (GEMM) gives the same hits as one search per query") {
  const std::size_t dim = 24;
  const auto ctx = context_for("batch", "u", {"eng"});
  for (Metric metric : {Metric::InnerProduct, Metric::Cosine, Metric::L2}) {
    VectorStore store(test::store_options(dim, metric));
    std::mt19937 rng(11);
    auto docs = random_docs(rng, 2500, dim, "d");  // spans several 1024-row GEMM blocks
    for (std::size_t i = 0; i < docs.size(); i += 3) docs[i].acl_groups = {"hr"};  // hidden from "eng"
    add_all(store, ctx, docs);
    std::vector<float> queries;
    std::vector<std::vector<float>> each;
    for (int i = 0; i < 9; ++i) {
      each.push_back(test::random_vector(rng, dim));
      queries.insert(queries.end(), each.back().begin(), each.back().end());
    }
    const auto batch =
        with_tenant(ctx, [&](auto scope) { return scope.release(store.search_batch(scope, queries, 6)); });
    REQUIRE(batch.size() == 9);
    for (std::size_t i = 0; i < 9; ++i) {
      INFO("metric " << to_string(metric) << " query " << i);
      CHECK(test::ids_of(batch[i]) == test::naive_top_k(docs, each[i], 6, metric, {"eng"}));
    }
  }
}

TEST_CASE("a scoped query vector of one tenant is refused by another tenant's search (IsolationViolation)") {
  VectorStore store(test::store_options(4));
  const std::vector<float> v{1, 0, 0, 0};
  const auto acme = context_for("acme");
  const auto globex = context_for("globex");
  with_tenant(globex, [&](auto scope) { store.add(scope, {"globex-secret", v, {}, {}}); });
  // The same call site runs for both tenants, so the brands match and the run-time check decides.
  auto run = [&](const TenantContext& ctx, bool steal) {
    return with_tenant(ctx, [&](auto scope) {
      static std::optional<decltype(scope.bind(std::vector<float>{}))> stash;
      if (!steal) {
        stash.emplace(scope.bind(v));
        CHECK(scope.release(store.search(scope, *stash, 3)).empty());  // acme has no documents
        return 0;
      }
      CHECK(code_of([&] { (void)store.search(scope, *stash, 3); }) == ErrorCode::IsolationViolation);
      CHECK(scope.release(store.search(scope, scope.bind(v), 3)).size() == 1);  // its own value works
      return 1;
    });
  };
  run(acme, false);
  CHECK(run(globex, true) == 1);
}
