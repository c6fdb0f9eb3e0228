// Corrupt, foreign, renamed and copied database files are refused with a clear error, and
// never read or changed.
#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <tenantai/core.h>
#include <tenantai/memory.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "support/error_code.h"
#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::memory;
using tenantai::test_support::context_for;
using tenantai::test_support::TempDir;

namespace {
const MemoryScope kChat{"alice", "bot", "s1"};

std::string path_of(const TempDir& dir, const char* tenant) {
  return (std::filesystem::path(dir.path()) / SqliteMemoryStore::file_name_for(TenantId(tenant))).string();
}
std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
// The error a call of tenant `tenant` raises when touching its memory.
Error error_of(SqliteMemoryStore& store, const char* tenant) {
  try {
    with_tenant(context_for(tenant, "alice"), [&](auto scope) { (void)store.messages(scope, kChat); });
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected an error");
  return Error(ErrorCode::Internal, "");
}
}  // namespace

TEST_CASE("a corrupt database file gives StorageFailure naming the file and stays untouched", "[memory][foreign]") {
  TempDir dir;
  const std::string path = path_of(dir, "acme");
  const std::string garbage(8192, '\x5a');
  std::ofstream(path, std::ios::binary) << garbage;
  SqliteMemoryOptions o;
  o.root_dir = dir.path();
  SqliteMemoryStore store(o);
  const Error e = error_of(store, "acme");
  CHECK(e.code() == ErrorCode::StorageFailure);
  CHECK_THAT(e.message(), Catch::Contains(SqliteMemoryStore::file_name_for(TenantId("acme"))));
  CHECK_THAT(e.message(), Catch::Contains("not a tenantai memory database"));
  CHECK(read_all(path) == garbage);
}

TEST_CASE("a SQLite database of another application is refused", "[memory][foreign]") {
  TempDir dir;
  const std::string path = path_of(dir, "acme");
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "CREATE TABLE other(x); INSERT INTO other VALUES(1);", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  const std::string before = read_all(path);
  SqliteMemoryOptions o;
  o.root_dir = dir.path();
  SqliteMemoryStore store(o);
  const Error e = error_of(store, "acme");
  CHECK(e.code() == ErrorCode::StorageFailure);
  CHECK_THAT(e.message(), Catch::Contains("not a tenantai memory database"));
  CHECK(read_all(path) == before);  // not even switched to WAL
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST_CASE("another tenant's database file, renamed or copied, is refused as an isolation violation",
          "[memory][foreign]") {
  TempDir dir;
  SqliteMemoryOptions o;
  o.root_dir = dir.path();
  {
    SqliteMemoryStore store(o);
    with_tenant(context_for("acme", "alice"), [&](auto scope) { (void)store.append(scope, kChat, {"user", "ACME-CANARY"}); });
  }
  const bool with_wal = GENERATE(false, true);
  std::filesystem::copy_file(path_of(dir, "acme"), path_of(dir, "globex"));
  if (with_wal && std::filesystem::exists(path_of(dir, "acme") + "-wal")) {
    std::filesystem::copy_file(path_of(dir, "acme") + "-wal", path_of(dir, "globex") + "-wal");
  }
  SqliteMemoryStore store(o);
  const Error e = error_of(store, "globex");
  CHECK(e.code() == ErrorCode::IsolationViolation);
  CHECK_THAT(e.message(), Catch::Contains("acme"));
  // The owner still reads its data; the copy was never changed into globex's.
  with_tenant(context_for("acme", "alice"), [&](auto scope) {
    CHECK(scope.view(store.messages(scope, kChat)).at(0).content == "ACME-CANARY");
  });
  CHECK(error_of(store, "globex").code() == ErrorCode::IsolationViolation);
}
