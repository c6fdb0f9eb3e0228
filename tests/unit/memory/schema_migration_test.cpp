// Schema versions of the memory database: an older database is migrated step by step (through
// the same TenantDatabase open path the store uses), a newer one is refused with an error
// naming the file and both versions, and nothing is written to a refused file.
#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <tenantai/core.h>
#include <tenantai/memory.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/durable_file.h"
#include "memory/schema_migrations.h"
#include "memory/tenant_database.h"
#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::memory;
using tenantai::test_support::context_for;
using tenantai::test_support::TempDir;
namespace mdetail = tenantai::memory::detail;

namespace {

const MemoryScope kChat{"alice", "bot", "s1"};

std::string path_of(const TempDir& dir, const char* tenant) {
  return (std::filesystem::path(dir.path()) / SqliteMemoryStore::file_name_for(TenantId(tenant))).string();
}


// One SQL statement's single integer result, on a plain connection.
std::int64_t query_int(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
  std::int64_t value = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

void set_user_version(const std::string& path, int version) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  const std::string sql = "PRAGMA user_version=" + std::to_string(version);
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

// A version 1 database of tenant "acme" holding one message, written by the real store.
void make_v1_database(const TempDir& dir) {
  SqliteMemoryOptions o;
  o.root_dir = dir.path();
  o.sync_full = true;  // close checkpoints, so the main file alone holds everything
  SqliteMemoryStore store(o);
  with_tenant(context_for("acme", "alice"), [&](auto scope) { store.append(scope, kChat, {"user", "hello v1"}); });
}

std::size_t messages_in(const TempDir& dir) {
  SqliteMemoryOptions o;
  o.root_dir = dir.path();
  SqliteMemoryStore store(o);
  return with_tenant(context_for("acme", "alice"), [&](auto scope) { return scope.view(store.messages(scope, kChat)).size(); });
}

// A build whose schema is version 3: 1 → 2 adds a table, 2 → 3 adds a column.
constexpr std::array<mdetail::SchemaMigration, 2> kFutureSteps{{
    {2, "ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0"},
    {1, "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT NOT NULL) STRICT"},
}};
const mdetail::SchemaPlan kFuturePlan{3, std::span<const mdetail::SchemaMigration>(kFutureSteps.data(), kFutureSteps.size())};

}  // namespace

TEST_CASE("this build's memory schema is version 1 and new databases record it", "[memory][schema]") {
  TempDir dir;
  make_v1_database(dir);
  CHECK(mdetail::memory_schema_plan().current_version == 1);
  CHECK(query_int(path_of(dir, "acme"), "PRAGMA user_version") == 1);
}

TEST_CASE("an older memory database is migrated step by step and keeps its rows", "[memory][schema]") {
  TempDir dir;
  make_v1_database(dir);
  const std::string path = path_of(dir, "acme");
  {
    std::atomic<std::size_t> open{0};
    mdetail::TenantDatabase db(path, TenantId("acme"), true, false, std::chrono::milliseconds(100), open, kFuturePlan);
  }
  CHECK(query_int(path, "PRAGMA user_version") == 3);
  CHECK(query_int(path, "SELECT count(*) FROM pragma_table_info('notes') WHERE name = 'pinned'") == 1);
  CHECK(query_int(path, "SELECT count(*) FROM messages") == 1);
}

TEST_CASE("a new database is created at the base version and migrated to the current one", "[memory][schema]") {
  TempDir dir;
  const std::string path = path_of(dir, "acme");
  {
    std::atomic<std::size_t> open{0};
    mdetail::TenantDatabase db(path, TenantId("acme"), true, false, std::chrono::milliseconds(100), open, kFuturePlan);
  }
  CHECK(query_int(path, "PRAGMA user_version") == 3);
  CHECK(query_int(path, "SELECT count(*) FROM pragma_table_info('notes')") == 3);
}

TEST_CASE("a memory database newer than this build is refused naming the file and both versions",
          "[memory][schema]") {
  TempDir dir;
  make_v1_database(dir);
  const std::string path = path_of(dir, "acme");
  set_user_version(path, 7);
  const std::string before = tenantai::detail::read_file(path);
  SqliteMemoryOptions o;
  o.root_dir = dir.path();
  SqliteMemoryStore store(o);
  try {
    with_tenant(context_for("acme", "alice"), [&](auto scope) { (void)store.messages(scope, kChat); });
    FAIL("a newer database must be refused");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::StorageFailure);
    CHECK_THAT(e.message(), Catch::Contains(SqliteMemoryStore::file_name_for(TenantId("acme"))));
    CHECK_THAT(e.message(), Catch::Contains("schema version 7, newer than this build's 1"));
  }
  CHECK(tenantai::detail::read_file(path) == before);
}

TEST_CASE("a memory database with no migration path to this build is refused and left as it is", "[memory][schema]") {
  TempDir dir;
  make_v1_database(dir);
  const std::string path = path_of(dir, "acme");
  set_user_version(path, 0);
  const std::string before = tenantai::detail::read_file(path);
  std::atomic<std::size_t> open{0};
  try {
    mdetail::TenantDatabase db(path, TenantId("acme"), true, false, std::chrono::milliseconds(100), open, kFuturePlan);
    FAIL("no migration from version 0 exists");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::StorageFailure);
    CHECK_THAT(e.message(), Catch::Contains(path) && Catch::Contains("schema version 0") &&
                                Catch::Contains("no migration from version 0"));
  }
  CHECK(tenantai::detail::read_file(path) == before);
  set_user_version(path, 1);
  CHECK(messages_in(dir) == 1);  // the untouched file still opens with this build
}
