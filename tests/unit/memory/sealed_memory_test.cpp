// Conversation memory sealed with the tenant's key: nothing the users wrote reaches the disk in
// plaintext, a sealed value altered or moved (to another scope, row or tenant) refuses to open,
// a destroyed key makes the memory unreadable (crypto-shredding), and a database is only ever
// opened in the sealing mode it was created with.
#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <tenantai/core.h>
#include <tenantai/crypto.h>
#include <tenantai/memory.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../cache/test_sealer.h"
#include "support/error_code.h"
#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::memory;
using tenantai::test_support::code_of;
using tenantai::test_support::context_for;
using tenantai::test_support::TempDir;
using tenantai::test_support::TestSealer;
using namespace std::chrono_literals;

namespace {
const MemoryScope kChat{"alice", "bot", "s1"};

SqliteMemoryOptions options_in(const TempDir& dir, crypto::Sealer* sealer) {
  SqliteMemoryOptions o;
  o.root_dir = dir.path();
  o.max_open_handles = 2;  // several tenants: handles are evicted and files reopened
  o.sealer = sealer;
  return o;
}

std::string path_of(const TempDir& dir, const char* tenant) {
  return (std::filesystem::path(dir.path()) / SqliteMemoryStore::file_name_for(TenantId(tenant))).string();
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// "file: canary" for every file under `root` (database, WAL, anything) that contains a canary.
std::vector<std::string> canary_hits(const std::string& root, const std::vector<std::string>& canaries) {
  std::vector<std::string> hits;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    const std::string bytes = read_all(entry.path().string());
    for (const auto& canary : canaries) {
      if (bytes.find(canary) != std::string::npos) hits.push_back(entry.path().filename().string() + ": " + canary);
    }
  }
  return hits;
}

// Writes a message batch, a fact (canary in content and source) and a summary for `tenant`.
void write_canaries(SqliteMemoryStore& store, const std::string& tenant, const std::string& canary) {
  with_tenant(context_for(tenant, "alice"), [&](auto scope) {
    (void)store.append_batch(scope, kChat, {{"user", "msg " + canary, 3, 0}, {"assistant", "re " + canary, 0, 4}});
    (void)store.add_fact(scope, "alice", "bot", "fact " + canary, {"tool:" + canary, std::nullopt, "s1"});
    store.put_summary(scope, kChat, "summary " + canary, 2);
  });
}

void check_canaries_read_back(SqliteMemoryStore& store, const std::string& tenant, const std::string& canary) {
  with_tenant(context_for(tenant, "alice"), [&](auto scope) {
    const auto messages = scope.release(store.messages(scope, kChat));
    REQUIRE(messages.size() == 2);
    CHECK(messages[0].content == "msg " + canary);
    CHECK(messages[1].content == "re " + canary);
    CHECK(messages[1].role == "assistant");
    CHECK(messages[1].output_tokens == 4);
    const auto facts = scope.release(store.facts(scope, "alice", "bot"));
    REQUIRE(facts.size() == 1);
    CHECK(facts[0].content == "fact " + canary);
    CHECK(facts[0].provenance.source == "tool:" + canary);
    CHECK(facts[0].provenance.session == "s1");
    CHECK(scope.release(store.summary(scope, kChat))->content == "summary " + canary);
  });
}

// A raw connection to a database file (the store must be closed), for planting changes.
struct RawDb {
  explicit RawDb(const std::string& path) { REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK); }
  ~RawDb() { sqlite3_close(db); }
  void exec(const std::string& sql) { REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK); }
  // Flips one byte in the middle of the blob in `column` of the first row of `table`.
  void flip_byte(const std::string& table, const std::string& column) {
    sqlite3_stmt* read = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, ("SELECT rowid, " + column + " FROM " + table + " LIMIT 1").c_str(), -1, &read,
                               nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(read) == SQLITE_ROW);
    REQUIRE(sqlite3_column_type(read, 1) == SQLITE_BLOB);
    const auto rowid = sqlite3_column_int64(read, 0);
    std::string blob(static_cast<const char*>(sqlite3_column_blob(read, 1)),
                     static_cast<std::size_t>(sqlite3_column_bytes(read, 1)));
    sqlite3_finalize(read);
    blob[blob.size() / 2] = static_cast<char>(blob[blob.size() / 2] ^ 0x01);
    sqlite3_stmt* write = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, ("UPDATE " + table + " SET " + column + " = ? WHERE rowid = ?").c_str(), -1,
                               &write, nullptr) == SQLITE_OK);
    sqlite3_bind_blob(write, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(write, 2, rowid);
    REQUIRE(sqlite3_step(write) == SQLITE_DONE);
    sqlite3_finalize(write);
  }
  sqlite3* db = nullptr;
};
}  // namespace

TEST_CASE("sealed memory round-trips and no tenant's canary reaches any file on disk", "[memory][sealed]") {
  TempDir dir;
  TestSealer sealer;
  const std::vector<std::string> tenants = {"acme", "globex", "initech", "umbrella"};
  std::vector<std::string> canaries;
  for (const auto& t : tenants) canaries.push_back("CANARY-" + t + "-7f3a9c");
  {
    SqliteMemoryStore store(options_in(dir, &sealer));
    for (std::size_t i = 0; i < tenants.size(); ++i) write_canaries(store, tenants[i], canaries[i]);
    for (std::size_t i = 0; i < tenants.size(); ++i) check_canaries_read_back(store, tenants[i], canaries[i]);
    // The export is the plaintext, opened.
    const auto exported = with_tenant(context_for("acme", "admin", {}, {"memory:admin"}), [&](auto scope) {
      return scope.release(store.export_jsonl(scope));
    });
    CHECK_THAT(exported, Catch::Contains("\"content\":\"msg " + canaries[0] + "\""));
    CHECK_THAT(exported, Catch::Contains("\"source\":\"tool:" + canaries[0] + "\""));
    CHECK_THAT(exported, Catch::Contains("\"content\":\"summary " + canaries[0] + "\""));
    CHECK(exported.find(canaries[1]) == std::string::npos);
  }  // closed: the WAL stays on disk next to the database, and is scanned too
  CHECK(sealer.seals.load() == 4 * 5);
  CHECK(std::filesystem::exists(path_of(dir, "acme") + "-wal"));
  CHECK(canary_hits(dir.path(), canaries).empty());
  // Reopened, everything still reads back.
  SqliteMemoryStore store(options_in(dir, &sealer));
  for (std::size_t i = 0; i < tenants.size(); ++i) check_canaries_read_back(store, tenants[i], canaries[i]);
}

TEST_CASE("the canary scan does see plaintext memory (control)", "[memory][sealed]") {
  TempDir dir;
  {
    SqliteMemoryStore store(options_in(dir, nullptr));
    write_canaries(store, "acme", "CANARY-plain-acme");
  }
  CHECK(canary_hits(dir.path(), {"msg CANARY-plain-acme", "summary CANARY-plain-acme"}).size() == 2);
}

TEST_CASE("a sealed value altered in the file fails to open with Tampered", "[memory][sealed]") {
  TempDir dir;
  TestSealer sealer;
  { SqliteMemoryStore store(options_in(dir, &sealer)); write_canaries(store, "acme", "c"); }
  const auto altered = GENERATE(Catch::Generators::table<std::string, std::string>(
      {{"messages", "content"}, {"facts", "content"}, {"facts", "source"}, {"summaries", "content"}}));
  const std::string table = std::get<0>(altered), column = std::get<1>(altered);
  RawDb(path_of(dir, "acme")).flip_byte(table, column);
  SqliteMemoryStore store(options_in(dir, &sealer));
  with_tenant(context_for("acme", "alice", {}, {"memory:admin"}), [&](auto scope) {
    const auto read = [&] {
      if (table == "messages") (void)store.messages(scope, kChat);
      if (table == "facts") (void)store.facts(scope, "alice", "bot");
      if (table == "summaries") (void)store.summary(scope, kChat);
    };
    try {
      read();
      FAIL("an altered " << table << "." << column << " was read");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::Tampered);
      CHECK_THAT(e.message(), Catch::Contains(SqliteMemoryStore::file_name_for(TenantId("acme"))));
    }
    CHECK(code_of([&] { (void)store.export_jsonl(scope); }) == ErrorCode::Tampered);
  });
}

TEST_CASE("a sealed row moved to another user, session, row or role fails to open with Tampered",
          "[memory][sealed]") {
  TempDir dir;
  TestSealer sealer;
  { SqliteMemoryStore store(options_in(dir, &sealer)); write_canaries(store, "acme", "c"); }
  {
    RawDb raw(path_of(dir, "acme"));
    // alice's rows copied into bob's scope, and into another session of alice.
    raw.exec("INSERT INTO messages(user, agent, session, role, content, input_tokens, output_tokens, created_at) "
             "SELECT 'bob', agent, session, role, content, input_tokens, output_tokens, created_at FROM messages");
    raw.exec("INSERT INTO facts(user, agent, content, source, message_id, session, created_at) "
             "SELECT 'bob', agent, content, source, message_id, session, created_at FROM facts");
    raw.exec("INSERT INTO summaries SELECT 'bob', agent, session, content, covers_up_to, updated_at FROM summaries");
    raw.exec("INSERT INTO summaries SELECT user, agent, 's2', content, covers_up_to, updated_at FROM summaries "
             "WHERE user = 'alice'");
    // Within alice's session: the second message's box replaced by the first's; a role raised.
    raw.exec("INSERT INTO messages(user, agent, session, role, content, input_tokens, output_tokens, created_at) "
             "SELECT user, agent, 's3', role, content, 0, 0, 0 FROM messages WHERE id = 1");
    raw.exec("INSERT INTO messages(user, agent, session, role, content, input_tokens, output_tokens, created_at) "
             "SELECT user, agent, 's4', 'system', content, 0, 0, 0 FROM messages WHERE id = 1");
  }
  SqliteMemoryStore store(options_in(dir, &sealer));
  with_tenant(context_for("acme", "bob"), [&](auto scope) {
    CHECK(code_of([&] { (void)store.messages(scope, {"bob", "bot", "s1"}); }) == ErrorCode::Tampered);
    CHECK(code_of([&] { (void)store.facts(scope, "bob", "bot"); }) == ErrorCode::Tampered);
    CHECK(code_of([&] { (void)store.summary(scope, {"bob", "bot", "s1"}); }) == ErrorCode::Tampered);
  });
  with_tenant(context_for("acme", "alice"), [&](auto scope) {
    CHECK(code_of([&] { (void)store.summary(scope, {"alice", "bot", "s2"}); }) == ErrorCode::Tampered);
    CHECK(code_of([&] { (void)store.messages(scope, {"alice", "bot", "s3"}); }) == ErrorCode::Tampered);
    CHECK(code_of([&] { (void)store.messages(scope, {"alice", "bot", "s4"}); }) == ErrorCode::Tampered);
    check_canaries_read_back(store, "acme", "c");  // the originals are untouched
  });
}

TEST_CASE("a sealed row whose scope is rewritten in place (same row id) fails to open with Tampered",
          "[memory][sealed]") {
  TempDir dir;
  TestSealer sealer;
  { SqliteMemoryStore store(options_in(dir, &sealer)); write_canaries(store, "acme", "c"); }
  {
    RawDb raw(path_of(dir, "acme"));
    raw.exec("UPDATE messages SET user = 'bob' WHERE id = 1");
    raw.exec("UPDATE messages SET session = 's2' WHERE id = 2");
    raw.exec("UPDATE facts SET agent = 'other-bot'");
  }
  SqliteMemoryStore store(options_in(dir, &sealer));
  with_tenant(context_for("acme", "bob"), [&](auto scope) {
    CHECK(code_of([&] { (void)store.messages(scope, {"bob", "bot", "s1"}); }) == ErrorCode::Tampered);
  });
  with_tenant(context_for("acme", "alice"), [&](auto scope) {
    CHECK(code_of([&] { (void)store.messages(scope, {"alice", "bot", "s2"}); }) == ErrorCode::Tampered);
    CHECK(code_of([&] { (void)store.facts(scope, "alice", "other-bot"); }) == ErrorCode::Tampered);
  });
}

TEST_CASE("another tenant's sealed file is refused under a new name, and cannot be opened with a rewritten owner",
          "[memory][sealed]") {
  TempDir dir;
  TestSealer sealer;
  { SqliteMemoryStore store(options_in(dir, &sealer)); write_canaries(store, "acme", "CANARY-acme"); }
  RawDb(path_of(dir, "acme")).exec("PRAGMA wal_checkpoint(TRUNCATE)");  // everything in the main file
  std::filesystem::copy_file(path_of(dir, "acme"), path_of(dir, "globex"));
  {
    SqliteMemoryStore store(options_in(dir, &sealer));
    with_tenant(context_for("globex", "alice"), [&](auto scope) {
      CHECK(code_of([&] { (void)store.messages(scope, kChat); }) == ErrorCode::IsolationViolation);
    });
  }
  // An attacker who also rewrites the recorded owner still gets nothing: the boxes are acme's.
  RawDb(path_of(dir, "globex")).exec("UPDATE meta SET value = 'globex' WHERE key = 'tenant'");
  SqliteMemoryStore store(options_in(dir, &sealer));
  with_tenant(context_for("globex", "alice"), [&](auto scope) {
    CHECK(code_of([&] { (void)store.messages(scope, kChat); }) == ErrorCode::Tampered);
    CHECK(code_of([&] { (void)store.facts(scope, "alice", "bot"); }) == ErrorCode::Tampered);
    CHECK(code_of([&] { (void)store.summary(scope, kChat); }) == ErrorCode::Tampered);
  });
  check_canaries_read_back(store, "acme", "CANARY-acme");
}

TEST_CASE("after the tenant's key is destroyed its memory fails with CryptoFailure and can still be erased",
          "[memory][sealed]") {
  TempDir dir;
  TestSealer sealer;
  SqliteMemoryStore store(options_in(dir, &sealer));
  write_canaries(store, "acme", "CANARY-acme");
  write_canaries(store, "globex", "CANARY-globex");
  sealer.destroy(TenantId("acme"));
  with_tenant(context_for("acme", "alice", {}, {"memory:admin"}), [&](auto scope) {
    CHECK(code_of([&] { (void)store.messages(scope, kChat); }) == ErrorCode::CryptoFailure);
    CHECK(code_of([&] { (void)store.facts(scope, "alice", "bot"); }) == ErrorCode::CryptoFailure);
    CHECK(code_of([&] { (void)store.summary(scope, kChat); }) == ErrorCode::CryptoFailure);
    CHECK(code_of([&] { (void)store.export_jsonl(scope); }) == ErrorCode::CryptoFailure);
    CHECK(code_of([&] { (void)store.append(scope, kChat, {"user", "new"}); }) == ErrorCode::CryptoFailure);
    CHECK(code_of([&] { store.put_summary(scope, kChat, "new", 9); }) == ErrorCode::CryptoFailure);
    CHECK(store.apply_retention(scope, 24h) == 0);  // nothing is a day old, but it runs
    CHECK(store.erase_user(scope, "alice") == 4);  // 2 messages, 1 fact, 1 summary: no failed write landed
    store.erase_tenant(scope);
  });
  CHECK_FALSE(std::filesystem::exists(path_of(dir, "acme")));
  CHECK_FALSE(std::filesystem::exists(path_of(dir, "acme") + "-wal"));
  check_canaries_read_back(store, "globex", "CANARY-globex");
  CHECK(canary_hits(dir.path(), {"CANARY-acme", "CANARY-globex"}).empty());
}

TEST_CASE("a database is only opened in the sealing mode it was created with; a refusal changes nothing",
          "[memory][sealed]") {
  TempDir dir;
  TestSealer sealer;
  const std::string sealed_file = SqliteMemoryStore::file_name_for(TenantId("acme"));
  { SqliteMemoryStore store(options_in(dir, &sealer)); write_canaries(store, "acme", "sealed"); }
  { SqliteMemoryStore store(options_in(dir, nullptr)); write_canaries(store, "globex", "plain"); }
  const auto bytes_before = read_all(path_of(dir, "acme")) + read_all(path_of(dir, "acme") + "-wal") +
                            read_all(path_of(dir, "globex")) + read_all(path_of(dir, "globex") + "-wal");
  {
    SqliteMemoryStore plain(options_in(dir, nullptr));
    try {
      with_tenant(context_for("acme", "alice"), [&](auto scope) { (void)plain.messages(scope, kChat); });
      FAIL("a sealed database was read without a sealer");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::StorageFailure);
      CHECK_THAT(e.message(), Catch::Contains(sealed_file) && Catch::Contains("sealed") && Catch::Contains("no sealer"));
    }
    SqliteMemoryStore sealing(options_in(dir, &sealer));
    try {
      with_tenant(context_for("globex", "alice"), [&](auto scope) { (void)sealing.append(scope, kChat, {"user", "x"}); });
      FAIL("a sealing store wrote into a plaintext database");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::StorageFailure);
      CHECK_THAT(e.message(), Catch::Contains(SqliteMemoryStore::file_name_for(TenantId("globex"))) &&
                                  Catch::Contains("plaintext"));
    }
  }
  CHECK(read_all(path_of(dir, "acme")) + read_all(path_of(dir, "acme") + "-wal") + read_all(path_of(dir, "globex")) +
            read_all(path_of(dir, "globex") + "-wal") ==
        bytes_before);
  {
    SqliteMemoryStore sealing(options_in(dir, &sealer));
    check_canaries_read_back(sealing, "acme", "sealed");
    SqliteMemoryStore plain(options_in(dir, nullptr));
    check_canaries_read_back(plain, "globex", "plain");
  }
  // A database from before sealing existed (no 'sealing' entry) is plaintext.
  RawDb(path_of(dir, "globex")).exec("DELETE FROM meta WHERE key = 'sealing'");
  SqliteMemoryStore sealing(options_in(dir, &sealer));
  with_tenant(context_for("globex", "alice"), [&](auto scope) {
    CHECK(code_of([&] { (void)sealing.messages(scope, kChat); }) == ErrorCode::StorageFailure);
  });
  SqliteMemoryStore plain(options_in(dir, nullptr));
  check_canaries_read_back(plain, "globex", "plain");
}

TEST_CASE("memory sealed by the crypto module's EnvelopeSealer is shredded by destroying the tenant's keys",
          "[memory][sealed]") {
  TempDir dir;
  const std::filesystem::path root = std::filesystem::path(dir.path()) / "memory";
  std::filesystem::create_directories(root);
  crypto::LocalKeyProvider keys(std::filesystem::path(dir.path()) / "keys");
  crypto::EnvelopeSealer sealer(keys, std::filesystem::path(dir.path()) / "keyrings");
  SqliteMemoryOptions o;
  o.root_dir = root.string();
  o.sealer = &sealer;
  SqliteMemoryStore store(o);
  write_canaries(store, "acme", "CANARY-envelope-acme");
  write_canaries(store, "globex", "CANARY-envelope-globex");
  check_canaries_read_back(store, "acme", "CANARY-envelope-acme");
  CHECK(canary_hits(root.string(), {"CANARY-envelope-acme", "CANARY-envelope-globex"}).empty());
  sealer.destroy(context_for("acme", "admin", {}, {"admin:keys"}));
  with_tenant(context_for("acme", "alice"), [&](auto scope) {
    CHECK(code_of([&] { (void)store.messages(scope, kChat); }) == ErrorCode::CryptoFailure);
    CHECK(code_of([&] { (void)store.facts(scope, "alice", "bot"); }) == ErrorCode::CryptoFailure);
  });
  check_canaries_read_back(store, "globex", "CANARY-envelope-globex");
}
