// FileCorpusStore: durable, idempotent, sealed when asked, damage reported per tenant.
#include <catch2/catch.hpp>
#include <tenantai/audit.h>
#include <tenantai/corpus.h>
#include <tenantai/crypto.h>

#include <fstream>
#include <random>
#include <thread>

#include "corpus_fixture.h"
#include "support/error_code.h"
#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::corpus;
using tenantai::test_support::code_of;
using tenantai::test_support::context_for;

using namespace tenantai::corpus_test;

TEST_CASE("corpus: documents and vectors survive a restart, removes too, byte for byte", "[corpus]") {
  Fixture f;
  const auto acme = context_for("acme");
  CHECK(f.put(acme, {document("a", "alpha text", {"risk"}), document("b", "beta text")}) == 2);
  with_tenant(acme, [&](auto scope) { CHECK(f.store->remove(scope, {"b", "never-there"}) == 1); });
  CHECK(f.put(acme, {document("c", "gamma text")}) == 1);
  f.reopen();
  const auto loaded = f.load(acme);
  REQUIRE(loaded.size() == 2);
  const auto& a = loaded.at("a");
  CHECK(a.text == "alpha text");
  CHECK(a.title == "title of a");
  CHECK(a.acl_groups == std::vector<std::string>{"risk"});
  CHECK(std::get<std::int64_t>(a.metadata.at("year")) == 2026);
  CHECK(std::get<std::string>(a.metadata.at("lang")) == "en");
  CHECK(a.vector == std::vector<float>{0.25f, -1.5f, 3.0f, 1e-7f});
  CHECK(loaded.count("c") == 1);
  CHECK(f.load(context_for("globex")).empty());  // another tenant has nothing
}

TEST_CASE("corpus: a retried put of the same document writes nothing; a changed one is written", "[corpus]") {
  Fixture f;
  const auto acme = context_for("acme");
  CHECK(f.put(acme, {document("a", "alpha")}) == 1);
  const auto size = written_end(file_bytes(f.store->path_of(TenantId("acme"))));
  CHECK(f.put(acme, {document("a", "alpha")}) == 0);
  f.reopen();
  CHECK(f.put(acme, {document("a", "alpha")}) == 0);  // idempotent across a restart too
  CHECK(written_end(file_bytes(f.store->path_of(TenantId("acme")))) == size);
  CHECK(f.put(acme, {document("a", "alpha v2")}) == 1);
  CHECK(f.load(acme).at("a").text == "alpha v2");
}

TEST_CASE("corpus: a sealed tenant's journal holds no plaintext and no raw vector, and opens only with its key", "[corpus]") {
  Fixture f;
  f.sealed_tenants = {"acme"};
  const auto acme = context_for("acme");
  f.put(acme, {document("secret-doc", "ACME-CORPUS-CANARY-3141")});
  const auto bytes = file_bytes(f.store->path_of(TenantId("acme")));
  CHECK(bytes.find("ACME-CORPUS-CANARY-3141") == std::string::npos);
  CHECK(bytes.find("secret-doc") == std::string::npos);
  const float vector[] = {0.25f, -1.5f, 3.0f};
  CHECK(bytes.find(std::string(reinterpret_cast<const char*>(vector), sizeof vector)) == std::string::npos);
  f.reopen();
  CHECK(f.load(acme).at("secret-doc").text == "ACME-CORPUS-CANARY-3141");
  // A control: a clear tenant's journal does hold its text (the scan above can see).
  const auto globex = context_for("globex");
  f.put(globex, {document("open-doc", "GLOBEX-CLEAR-TEXT")});
  CHECK(file_bytes(f.store->path_of(TenantId("globex"))).find("GLOBEX-CLEAR-TEXT") != std::string::npos);
  // Another tenant's journal copied over this one is refused, not read.
  std::filesystem::copy_file(f.store->path_of(TenantId("acme")), f.store->path_of(TenantId("globex")),
                             std::filesystem::copy_options::overwrite_existing);
  f.reopen();
  CHECK(code_of([&] { f.load(globex); }) == ErrorCode::TenantUnavailable);
  // Destroying the key shreds the corpus: it no longer opens.
  f.reopen();
  f.sealer.destroy(context_for("acme", "admin", {}, {"admin:keys"}));
  CHECK(code_of([&] { f.load(acme); }) == ErrorCode::CryptoFailure);
}

TEST_CASE("corpus: a torn tail is cut back to the last complete record and reported", "[corpus]") {
  Fixture f;
  const auto acme = context_for("acme");
  f.put(acme, {document("a", "alpha"), document("b", "beta")});
  const auto path = f.store->path_of(TenantId("acme"));
  const auto good = written_end(file_bytes(path));  // the file itself is preallocated past it
  f.put(acme, {document("c", "gamma, to be torn")});
  f.reopen();
  std::filesystem::resize_file(path, written_end(file_bytes(path)) - 7);  // a crash mid-append
  LoadReport report;
  const auto loaded = f.load(acme, &report);
  CHECK(loaded.size() == 2);
  CHECK(loaded.count("c") == 0);
  CHECK(report.torn_bytes_cut > 0);
  CHECK(std::filesystem::file_size(path) == good);
  CHECK(f.put(acme, {document("c", "gamma again")}) == 1);  // appends continue after the cut
  f.reopen();
  CHECK(f.load(acme).size() == 3);
}

TEST_CASE("corpus: a corrupt record in the middle makes that tenant unavailable, named, and no other", "[corpus]") {
  Fixture f;
  const auto acme = context_for("acme");
  const auto globex = context_for("globex");
  f.put(acme, {document("a", "alpha")});
  f.put(acme, {document("b", "beta")});
  f.put(globex, {document("g", "globex doc")});
  f.reopen();
  const auto path = f.store->path_of(TenantId("acme"));
  std::string bytes = file_bytes(path);
  bytes[written_end(bytes) / 3] ^= 0x20;  // inside a record with more records behind it
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  try {
    f.load(acme);
    FAIL("a corrupt journal loaded");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::TenantUnavailable);
    CHECK(std::string(e.what()).find("acme") != std::string::npos);
    CHECK(std::string(e.what()).find("byte") != std::string::npos);
  }
  CHECK(code_of([&] { f.put(acme, {document("c", "gamma")}); }) == ErrorCode::TenantUnavailable);  // stays failed
  CHECK(file_bytes(path) == bytes);  // nothing was cut or rewritten
  CHECK(f.load(globex).size() == 1);
}

TEST_CASE("corpus: an unknown format version is refused by name", "[corpus]") {
  Fixture f;
  const auto acme = context_for("acme");
  f.put(acme, {document("a", "alpha")});
  f.reopen();
  const auto path = f.store->path_of(TenantId("acme"));
  std::string bytes = file_bytes(path);
  bytes[8] = 9;  // version 9
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  try {
    f.load(acme);
    FAIL("an unknown version loaded");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::TenantUnavailable);
    CHECK(std::string(e.what()).find("version 9 is not supported") != std::string::npos);
    CHECK(std::string(e.what()).find(path.string()) != std::string::npos);  // names the file
  }
  CHECK(file_bytes(path) == bytes);  // refused, not rewritten
}

TEST_CASE("corpus: 8 concurrent writers, every acknowledged document is loaded after a restart", "[corpus][concurrency]") {
  Fixture f;
  f.sealed_tenants = {"t0", "t2"};
  std::vector<std::thread> writers;
  for (int w = 0; w < 8; ++w) {
    writers.emplace_back([&, w] {
      const auto ctx = context_for(numbered("t", w % 4));
      for (int i = 0; i < 50; ++i) f.put(ctx, {document(numbered(numbered("w", w) + "-", i), "text")});
    });
  }
  for (auto& t : writers) t.join();
  f.reopen();
  std::size_t total = 0;
  for (int t = 0; t < 4; ++t) total += f.load(context_for(numbered("t", t))).size();
  CHECK(total == 8 * 50);
}

TEST_CASE("corpus: erasing a tenant removes its journal and only its journal", "[corpus]") {
  Fixture f;
  const auto acme = context_for("acme");
  f.put(acme, {document("a", "alpha"), document("b", "beta")});
  f.put(context_for("globex"), {document("g", "globex")});
  CHECK(with_tenant(acme, [&](auto scope) { return f.store->erase_tenant(scope); }) == 2);
  CHECK_FALSE(std::filesystem::exists(f.store->path_of(TenantId("acme"))));
  CHECK(std::filesystem::exists(f.store->path_of(TenantId("globex"))));
  CHECK(f.load(acme).empty());
}
