// Per-document ACL (the actor's groups from the TenantContext) and metadata filters: exact
// against the naive reference on every kernel ISA, including the 64-row skipping paths.
#include <catch2/catch.hpp>
#include <support/error_code.h>
#include <support/test_auth.h>
#include <tenantai/retrieval.h>

#include "naive_reference.h"

using namespace tenantai;
using namespace tenantai::retrieval;
using tenantai::test_support::code_of;
using tenantai::test_support::context_for;

namespace {

std::vector<Hit> search(const VectorStore& store, const TenantContext& ctx, const std::vector<float>& q, std::size_t k,
                        const Filter& filter = {}) {
  return with_tenant(ctx, [&](auto scope) { return scope.release(store.search(scope, q, k, filter)); });
}

struct RestoreIsa {
  ~RestoreIsa() { force_kernel_isa(best_kernel_isa()); }
};

// 2,000 documents: groups cycle over none / legal / hr / legal+finance, metadata lang and year.
std::vector<Document> mixed_documents(std::mt19937& rng, std::size_t dim) {
  const std::vector<std::vector<std::string>> groups{{}, {"legal"}, {"hr"}, {"legal", "finance"}};
  std::vector<Document> docs;
  for (std::size_t i = 0; i < 2000; ++i) {
    Document d{test::numbered("doc-", i), test::random_vector(rng, dim), groups[i % 4], {}};
    if (i % 5 != 0) d.metadata["lang"] = std::string(i % 2 == 0 ? "en" : "de");
    d.metadata["year"] = static_cast<std::int64_t>(2000 + i % 25);
    docs.push_back(std::move(d));
  }
  return docs;
}

}  // namespace

TEST_CASE("each actor sees only public documents and those of its groups, on every kernel ISA") {
  RestoreIsa restore;
  const std::size_t dim = 20;
  std::mt19937 rng(21);
  VectorStore store(test::store_options(dim));
  const auto docs = mixed_documents(rng, dim);
  with_tenant(context_for("acl"), [&](auto scope) { store.add_batch(scope, docs); });
  const std::vector<std::vector<std::string>> actors{{}, {"legal"}, {"hr"}, {"finance"}, {"hr", "legal"}, {"nobody"}};
  for (KernelIsa isa : {KernelIsa::Scalar, KernelIsa::Avx2, KernelIsa::Avx512}) {
    if (!force_kernel_isa(isa)) {
      WARN("kernel ISA " << to_string(isa) << " not supported by this CPU: skipped");
      continue;
    }
    for (const auto& groups : actors) {
      const auto ctx = context_for("acl", "someone", groups);
      for (int i = 0; i < 5; ++i) {
        const auto q = test::random_vector(rng, dim);
        INFO("isa " << to_string(isa) << ", groups " << groups.size());
        const auto hits = search(store, ctx, q, 15);
        REQUIRE(test::ids_of(hits) == test::naive_top_k(docs, q, 15, Metric::InnerProduct, groups));
      }
    }
  }
}

TEST_CASE("an actor with no matching group never sees restricted documents, even with k above the tenant size") {
  const std::size_t dim = 8;
  std::mt19937 rng(22);
  VectorStore store(test::store_options(dim));
  std::vector<Document> docs;
  for (int i = 0; i < 300; ++i) {
    docs.push_back({test::numbered("secret-", i), test::random_vector(rng, dim), {"board"}, {}});
  }
  docs.push_back({"public-0", test::random_vector(rng, dim), {}, {}});
  with_tenant(context_for("acl2"), [&](auto scope) { store.add_batch(scope, docs); });
  const auto hits = search(store, context_for("acl2", "intern", {"interns"}), test::random_vector(rng, dim), 1000);
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].id == "public-0");
  CHECK(search(store, context_for("acl2", "ceo", {"board"}), test::random_vector(rng, dim), 1000).size() == 301);
}

TEST_CASE("sparse visibility: one visible row per 64-row word and whole empty words are handled") {
  const std::size_t dim = 33;
  std::mt19937 rng(23);
  VectorStore store(test::store_options(dim, Metric::L2));
  std::vector<Document> docs;
  for (int i = 0; i < 1000; ++i) {
    const bool open = i % 64 == 5 || (i >= 640 && i < 704);  // sparse words and one full word
    docs.push_back({test::numbered("r", i), test::random_vector(rng, dim), open ? std::vector<std::string>{"g"}
                                                                                    : std::vector<std::string>{"x"}, {}});
  }
  with_tenant(context_for("sparse"), [&](auto scope) { store.add_batch(scope, docs); });
  const auto ctx = context_for("sparse", "u", {"g"});
  for (int i = 0; i < 10; ++i) {
    const auto q = test::random_vector(rng, dim);
    REQUIRE(test::ids_of(search(store, ctx, q, 20)) == test::naive_top_k(docs, q, 20, Metric::L2, {"g"}));
  }
}

TEST_CASE("metadata filters: equality on strings and integers, ranges, missing keys, combined with ACL") {
  const std::size_t dim = 20;
  std::mt19937 rng(24);
  VectorStore store(test::store_options(dim, Metric::Cosine));
  const auto docs = mixed_documents(rng, dim);
  with_tenant(context_for("meta"), [&](auto scope) { store.add_batch(scope, docs); });
  const std::vector<Filter> filters{
      Filter{}.equals("lang", std::string("en")),
      Filter{}.equals("year", std::int64_t{2003}),
      Filter{}.at_least("year", 2020).at_most("year", 2022),
      Filter{}.equals("lang", std::string("de")).at_least("year", 2010),
      Filter{}.equals("lang", std::int64_t{1}),  // type mismatch: matches nothing
      Filter{}.equals("missing", std::string("x")),
  };
  for (const auto& groups : std::vector<std::vector<std::string>>{{}, {"legal"}, {"hr", "finance"}}) {
    const auto ctx = context_for("meta", "u", groups);
    for (const auto& f : filters) {
      const auto q = test::random_vector(rng, dim);
      REQUIRE(test::ids_of(search(store, ctx, q, 12, f)) == test::naive_top_k(docs, q, 12, Metric::Cosine, groups, f));
    }
  }
  const auto ctx = context_for("meta");
  CHECK(search(store, ctx, test::random_vector(rng, dim), 5, Filter{}.equals("lang", std::int64_t{1})).empty());
  CHECK(code_of([&] {
          Filter bad;
          bad.conditions.push_back({"year", Condition::Op::AtLeast, std::string("2020")});
          (void)search(store, ctx, test::random_vector(rng, dim), 5, bad);
        }) == ErrorCode::InvalidArgument);
}

TEST_CASE("upsert moves a document between ACL groups and remove clears its bits") {
  const std::size_t dim = 4;
  VectorStore store(test::store_options(dim));
  const auto owner = context_for("moves");
  const std::vector<float> v{1, 0, 0, 0};
  with_tenant(owner, [&](auto scope) {
    store.add(scope, {"m", v, {"a"}, {}});
    store.add(scope, {"filler", {0, 1, 0, 0}, {"a"}, {}});
  });
  const auto in_a = context_for("moves", "u", {"a"});
  const auto in_b = context_for("moves", "u", {"b"});
  CHECK(search(store, in_a, v, 5).size() == 2);
  CHECK(search(store, in_b, v, 5).empty());
  with_tenant(owner, [&](auto scope) { CHECK(store.upsert(scope, {"m", v, {"b"}, {}})); });
  CHECK(search(store, in_a, v, 5).size() == 1);
  REQUIRE(search(store, in_b, v, 5).size() == 1);
  with_tenant(owner, [&](auto scope) { CHECK(store.remove(scope, "m")); });
  CHECK(search(store, in_b, v, 5).empty());
  CHECK(test::ids_of(search(store, in_a, v, 5)) == std::vector<std::string>{"filler"});
}
