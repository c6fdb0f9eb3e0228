// save() / open(): round trips, crash leftovers, and truncated or corrupt files rejected with
// an error naming the file (never a crash, never a partial store).
#include <catch2/catch.hpp>
#include <support/error_code.h>
#include <support/test_auth.h>
#include <tenantai/retrieval.h>

#include <filesystem>
#include <fstream>

#include "naive_reference.h"

using namespace tenantai;
using namespace tenantai::retrieval;
using tenantai::test_support::code_of;
using tenantai::test_support::context_for;
using tenantai::test_support::TempDir;
namespace fs = std::filesystem;

namespace {

std::vector<Hit> search(const VectorStore& store, const TenantContext& ctx, const std::vector<float>& q, std::size_t k,
                        const Filter& filter = {}) {
  return with_tenant(ctx, [&](auto scope) { return scope.release(store.search(scope, q, k, filter)); });
}

// Three tenants with ACL groups and metadata of both kinds.
void fill(VectorStore& store, std::size_t dim) {
  std::mt19937 rng(99);
  for (const char* tenant : {"alpha", "beta", "gamma.corp"}) {
    std::vector<Document> docs;
    for (std::size_t i = 0; i < 150; ++i) {
      Document d{test::numbered(tenant, i), test::random_vector(rng, dim), {}, {}};
      if (i % 3 == 0) d.acl_groups = {"g1", "g2"};
      if (i % 2 == 0) d.metadata = {{"n", static_cast<std::int64_t>(i)}, {"s", std::string(i % 4 == 0 ? "x" : "y")}};
      docs.push_back(std::move(d));
    }
    with_tenant(context_for(tenant), [&](auto scope) { store.add_batch(scope, std::move(docs)); });
  }
}

std::string file_of(const std::string& dir, const std::string& tenant) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (name.rfind(tenant + ".", 0) == 0 && e.path().extension() == ".tvec") return e.path().string();
  }
  FAIL("no file for tenant " << tenant);
  return {};
}

void truncate_file(const std::string& path, std::size_t keep) { fs::resize_file(path, keep); }

void flip_byte(const std::string& path, std::size_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x20));
}

// Code and message of what open() throws.
std::pair<ErrorCode, std::string> open_error(const std::string& dir) {
  try {
    (void)VectorStore::open(dir);
  } catch (const Error& e) {
    return {e.code(), e.message()};
  }
  FAIL("open() accepted a damaged store");
  return {ErrorCode::Internal, ""};
}

}  // namespace

TEST_CASE("a saved store opens with the same documents, ACLs, metadata and answers, for every metric") {
  const std::size_t dim = 12;
  for (Metric metric : {Metric::InnerProduct, Metric::Cosine, Metric::L2}) {
    TempDir dir;
    VectorStore original(test::store_options(dim, metric));
    fill(original, dim);
    original.save(dir.path());
    auto reopened = VectorStore::open(dir.path());
    CHECK(reopened->tenant_count() == 3);
    CHECK(reopened->options().metric == metric);
    std::mt19937 rng(5);
    for (const char* tenant : {"alpha", "beta", "gamma.corp"}) {
      for (const auto& groups : std::vector<std::vector<std::string>>{{}, {"g2"}}) {
        const auto ctx = context_for(tenant, "u", groups);
        for (const Filter& f : {Filter{}, Filter{}.equals("s", std::string("x")), Filter{}.at_least("n", 40)}) {
          const auto q = test::random_vector(rng, dim);
          REQUIRE(search(*reopened, ctx, q, 9, f) == search(original, ctx, q, 9, f));
        }
      }
    }
  }
}

TEST_CASE("saving again replaces the previous generation, crash leftovers do not disturb open()") {
  TempDir dir;
  VectorStore store(test::store_options(6));
  fill(store, 6);
  store.save(dir.path());
  // A crash during a later save: a half-written temp file and a new-generation file that no
  // manifest names yet.
  std::ofstream(dir.path() + "/alpha.7.tvec.tmp") << "half";
  std::ofstream(dir.path() + "/alpha.5.tvec") << "garbage from an interrupted save";
  auto reopened = VectorStore::open(dir.path());
  const auto ctx = context_for("alpha");
  CHECK(with_tenant(ctx, [&](auto scope) { return scope.release(reopened->stats(scope)).documents; }) == 150);

  with_tenant(ctx, [&](auto scope) { store.remove(scope, "alpha0"); });
  store.save(dir.path());
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    ++files;
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
  }
  CHECK(files == 4);  // MANIFEST + one file per tenant of the newest generation
  auto again = VectorStore::open(dir.path());
  CHECK(with_tenant(ctx, [&](auto scope) { return scope.release(again->stats(scope)).documents; }) == 149);
}

TEST_CASE("a truncated tenant file is refused with StorageFailure naming the file") {
  TempDir dir;
  VectorStore store(test::store_options(6));
  fill(store, 6);
  store.save(dir.path());
  const auto path = file_of(dir.path(), "beta");
  truncate_file(path, fs::file_size(path) / 2);
  const auto [code, message] = open_error(dir.path());
  CHECK(code == ErrorCode::StorageFailure);
  CHECK_THAT(message, Catch::Contains(path) && Catch::Contains("truncated"));
}

TEST_CASE("a corrupted tenant file is refused with Tampered naming the file") {
  TempDir dir;
  VectorStore store(test::store_options(6));
  fill(store, 6);
  store.save(dir.path());
  const auto path = file_of(dir.path(), "gamma.corp");
  flip_byte(path, fs::file_size(path) / 2);
  const auto [code, message] = open_error(dir.path());
  CHECK(code == ErrorCode::Tampered);
  CHECK_THAT(message, Catch::Contains(path));
}

TEST_CASE("a damaged, truncated or missing manifest or tenant file is refused with a clear error") {
  TempDir dir;
  VectorStore store(test::store_options(6));
  fill(store, 6);
  store.save(dir.path());
  const std::string manifest = dir.path() + "/MANIFEST";
  SECTION("manifest byte flipped") {
    flip_byte(manifest, 10);
    const auto [code, message] = open_error(dir.path());
    CHECK(code == ErrorCode::Tampered);
    CHECK_THAT(message, Catch::Contains(manifest));
  }
  SECTION("manifest truncated") {
    truncate_file(manifest, 40);
    const auto [code, message] = open_error(dir.path());
    CHECK((code == ErrorCode::StorageFailure || code == ErrorCode::Tampered));
    CHECK_THAT(message, Catch::Contains(manifest));
  }
  SECTION("manifest empty") {
    truncate_file(manifest, 0);
    CHECK(open_error(dir.path()).first == ErrorCode::StorageFailure);
  }
  SECTION("tenant file missing") {
    const auto path = file_of(dir.path(), "alpha");
    fs::remove(path);
    const auto [code, message] = open_error(dir.path());
    CHECK(code == ErrorCode::StorageFailure);
    CHECK_THAT(message, Catch::Contains(path));
  }
  SECTION("no store at all") {
    CHECK(open_error(dir.path() + "/nowhere").first == ErrorCode::StorageFailure);
  }
}

TEST_CASE("a store with a dropped tenant saves and opens without it") {
  TempDir dir;
  VectorStore store(test::store_options(6));
  fill(store, 6);
  with_tenant(context_for("beta"), [&](auto scope) { store.drop_tenant(scope); });
  store.save(dir.path());
  auto reopened = VectorStore::open(dir.path());
  CHECK(reopened->tenant_count() == 2);
  CHECK(search(*reopened, context_for("beta"), std::vector<float>(6, 1.f), 5).empty());
}
