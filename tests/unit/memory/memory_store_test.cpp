#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <tenantai/core.h>
#include <tenantai/memory.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/error_code.h"
#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::memory;
using tenantai::test_support::code_of;
using tenantai::test_support::context_for;
using tenantai::test_support::TempDir;
using namespace std::chrono_literals;

namespace {
SqliteMemoryOptions options_in(const TempDir& dir) {
  SqliteMemoryOptions o;
  o.root_dir = dir.path();
  return o;
}
const MemoryScope kChat{"alice", "support-bot", "s1"};
}  // namespace

TEST_CASE("messages are appended and read back in order, whole or the last N", "[memory]") {
  TempDir dir;
  SqliteMemoryStore store(options_in(dir));
  with_tenant(context_for("acme", "alice"), [&](auto scope) {
    const auto first = scope.release(store.append(scope, kChat, {"user", "hello", 3, 0}));
    const auto more = scope.release(store.append_batch(
        scope, kChat, {{"assistant", "hi, how can I help?", 0, 6}, {"user", "refund please", 2, 0}}));
    REQUIRE(more.size() == 2);
    CHECK(more[0] > first);
    CHECK(more[1] > more[0]);
    const auto all = scope.release(store.messages(scope, kChat));
    REQUIRE(all.size() == 3);
    CHECK(all[0].content == "hello");
    CHECK(all[0].role == "user");
    CHECK(all[0].input_tokens == 3);
    CHECK(all[1].output_tokens == 6);
    CHECK(all[2].content == "refund please");
    CHECK(all[2].scope.session == "s1");
    const auto last2 = scope.release(store.messages(scope, kChat, 2));
    REQUIRE(last2.size() == 2);
    CHECK(last2[0].content == "hi, how can I help?");
    CHECK(scope.view(store.messages(scope, {"alice", "support-bot", "s2"})).empty());
  });
}

TEST_CASE("scope parts are separate fields, so flattening collisions cannot happen", "[memory]") {
  TempDir dir;
  SqliteMemoryStore store(options_in(dir));
  with_tenant(context_for("acme", "svc", {}, {"memory:any-user"}), [&](auto scope) {
    (void)store.append(scope, {"team_a", "x", "s"}, {"user", "first"});
    (void)store.append(scope, {"team", "a_x", "s"}, {"user", "second"});
    (void)store.append(scope, {"a:b", "c", "s"}, {"user", "third"});
    (void)store.append(scope, {"a", "b:c", "s"}, {"user", "fourth"});
    CHECK(scope.view(store.messages(scope, {"team_a", "x", "s"})).size() == 1);
    CHECK(scope.view(store.messages(scope, {"team", "a_x", "s"})).at(0).content == "second");
    CHECK(scope.view(store.messages(scope, {"a:b", "c", "s"})).at(0).content == "third");
    CHECK(scope.view(store.messages(scope, {"a", "b:c", "s"})).at(0).content == "fourth");
  });
}

TEST_CASE("bad input is refused with InvalidArgument and nothing is written", "[memory]") {
  TempDir dir;
  SqliteMemoryStore store(options_in(dir));
  with_tenant(context_for("acme", "alice"), [&](auto scope) {
    CHECK(code_of([&] { (void)store.append(scope, kChat, {"wizard", "x"}); }) == ErrorCode::InvalidArgument);
    CHECK(code_of([&] { (void)store.append(scope, {"alice", "", "s"}, {"user", "x"}); }) == ErrorCode::InvalidArgument);
    CHECK(code_of([&] { (void)store.append(scope, {"alice", "a", std::string("s\0t", 3)}, {"user", "x"}); }) ==
          ErrorCode::InvalidArgument);
    CHECK(code_of([&] { (void)store.append(scope, kChat, {"user", "x", -1, 0}); }) == ErrorCode::InvalidArgument);
    CHECK(code_of([&] { (void)store.append(scope, kChat, {"user", std::string(2 << 20, 'x')}); }) ==
          ErrorCode::InvalidArgument);
    // One bad message in a batch rejects the whole batch.
    CHECK(code_of([&] { (void)store.append_batch(scope, kChat, {{"user", "ok"}, {"bogus", "no"}}); }) ==
          ErrorCode::InvalidArgument);
    CHECK(code_of([&] { (void)store.add_fact(scope, "alice", "bot", "x", Provenance{}); }) == ErrorCode::InvalidArgument);
    CHECK(scope.view(store.messages(scope, kChat)).empty());
  });
  SqliteMemoryOptions missing;
  missing.root_dir = dir.path() + "/does-not-exist";
  CHECK(code_of([&] { SqliteMemoryStore s(missing); }) == ErrorCode::InvalidArgument);
}

TEST_CASE("reads never cross users unless the user granted access", "[memory][access]") {
  TempDir dir;
  SqliteMemoryStore store(options_in(dir));
  const auto alice = context_for("acme", "alice");
  const auto bob = context_for("acme", "bob");
  with_tenant(alice, [&](auto scope) { (void)store.append(scope, kChat, {"user", "alice's secret"}); });
  with_tenant(bob, [&](auto scope) {
    CHECK(code_of([&] { (void)store.messages(scope, kChat); }) == ErrorCode::PermissionDenied);
    CHECK(code_of([&] { (void)store.append(scope, kChat, {"user", "forged"}); }) == ErrorCode::PermissionDenied);
    CHECK(code_of([&] { (void)store.facts(scope, "alice", "support-bot"); }) == ErrorCode::PermissionDenied);
    CHECK(code_of([&] { (void)store.erase_user(scope, "alice"); }) == ErrorCode::PermissionDenied);
  });
  with_tenant(alice, [&](auto scope) { store.grant_read(scope, "bob"); });
  with_tenant(bob, [&](auto scope) {
    CHECK(scope.view(store.messages(scope, kChat)).at(0).content == "alice's secret");
    CHECK(code_of([&] { (void)store.append(scope, kChat, {"user", "forged"}); }) == ErrorCode::PermissionDenied);
  });
  with_tenant(alice, [&](auto scope) { store.revoke_read(scope, "bob"); });
  with_tenant(bob, [&](auto scope) {
    CHECK(code_of([&] { (void)store.messages(scope, kChat); }) == ErrorCode::PermissionDenied);
  });
  with_tenant(context_for("acme", "svc", {}, {"memory:any-user"}), [&](auto scope) {
    CHECK(scope.view(store.messages(scope, kChat)).size() == 1);
  });
}

TEST_CASE("facts keep their provenance and summaries are replaced per session", "[memory]") {
  TempDir dir;
  SqliteMemoryStore store(options_in(dir));
  with_tenant(context_for("acme", "alice"), [&](auto scope) {
    const auto msg = scope.release(store.append(scope, kChat, {"user", "I moved to Lyon"}));
    (void)store.add_fact(scope, "alice", "support-bot", "lives in Lyon", Provenance{"extracted", msg, "s1"});
    (void)store.add_fact(scope, "alice", "support-bot", "prefers email", Provenance{"user-stated", std::nullopt, ""});
    const auto facts = scope.release(store.facts(scope, "alice", "support-bot"));
    REQUIRE(facts.size() == 2);
    CHECK(facts[0].content == "lives in Lyon");
    CHECK(facts[0].provenance.source == "extracted");
    CHECK(facts[0].provenance.message_id == msg);
    CHECK(facts[0].provenance.session == "s1");
    CHECK_FALSE(facts[1].provenance.message_id.has_value());
    CHECK(scope.view(store.facts(scope, "alice", "other-bot")).empty());

    CHECK_FALSE(scope.view(store.summary(scope, kChat)).has_value());
    store.put_summary(scope, kChat, "moved", msg);
    store.put_summary(scope, kChat, "moved to Lyon", msg + 1);
    const auto summary = scope.release(store.summary(scope, kChat));
    REQUIRE(summary.has_value());
    CHECK(summary->content == "moved to Lyon");
    CHECK(summary->covers_up_to == msg + 1);
  });
}

TEST_CASE("retention deletes old records and erasing a user leaves the others", "[memory][erase]") {
  TempDir dir;
  auto now = std::chrono::system_clock::now();
  SqliteMemoryOptions o = options_in(dir);
  o.clock = [&] { return now; };
  SqliteMemoryStore store(o);
  const auto admin = context_for("acme", "ops", {}, {"memory:admin", "memory:any-user"});
  with_tenant(admin, [&](auto scope) {
    (void)store.append(scope, kChat, {"user", "old"});
    (void)store.add_fact(scope, "alice", "support-bot", "old fact", Provenance{"x", std::nullopt, ""});
    now += 48h;
    (void)store.append(scope, kChat, {"user", "new"});
    (void)store.append(scope, {"bob", "support-bot", "s9"}, {"user", "bob's"});
    CHECK(store.apply_retention(scope, 24h) == 2);
    const auto left = scope.release(store.messages(scope, kChat));
    REQUIRE(left.size() == 1);
    CHECK(left[0].content == "new");
    CHECK(code_of([&] { (void)store.apply_retention(scope, std::chrono::hours(-1)); }) == ErrorCode::InvalidArgument);
  });
  with_tenant(context_for("acme", "alice"), [&](auto scope) {
    CHECK(code_of([&] { (void)store.apply_retention(scope, 1h); }) == ErrorCode::PermissionDenied);
    CHECK(store.erase_user(scope, "alice") == 1);
    CHECK(scope.view(store.messages(scope, kChat)).empty());
  });
  with_tenant(admin, [&](auto scope) {
    CHECK(scope.view(store.messages(scope, {"bob", "support-bot", "s9"})).size() == 1);
  });
}

TEST_CASE("erasing a tenant removes its database file and nothing of other tenants", "[memory][erase]") {
  TempDir dir;
  SqliteMemoryStore store(options_in(dir));
  const auto acme = context_for("acme", "alice", {}, {"memory:admin"});
  const auto globex = context_for("globex", "alice");
  with_tenant(acme, [&](auto scope) { (void)store.append(scope, kChat, {"user", "acme data"}); });
  with_tenant(globex, [&](auto scope) { (void)store.append(scope, kChat, {"user", "globex data"}); });
  const auto acme_file = std::filesystem::path(dir.path()) / SqliteMemoryStore::file_name_for(TenantId("acme"));
  REQUIRE(std::filesystem::exists(acme_file));
  with_tenant(globex, [&](auto scope) {
    CHECK(code_of([&] { store.erase_tenant(scope); }) == ErrorCode::PermissionDenied);
  });
  with_tenant(acme, [&](auto scope) { store.erase_tenant(scope); });
  CHECK_FALSE(std::filesystem::exists(acme_file));
  CHECK_FALSE(std::filesystem::exists(acme_file.string() + "-wal"));
  with_tenant(acme, [&](auto scope) { CHECK(scope.view(store.messages(scope, kChat)).empty()); });
  with_tenant(globex, [&](auto scope) {
    CHECK(scope.view(store.messages(scope, kChat)).at(0).content == "globex data");
  });
}

TEST_CASE("export writes the tenant's memory as JSON Lines", "[memory][export]") {
  TempDir dir;
  SqliteMemoryStore store(options_in(dir));
  with_tenant(context_for("acme", "alice", {}, {"memory:admin"}), [&](auto scope) {
    const auto id = scope.release(store.append(scope, kChat, {"user", "line\nbreak \"quoted\" \xff"}));
    (void)store.add_fact(scope, "alice", "support-bot", "fact", Provenance{"extracted", id, "s1"});
    store.put_summary(scope, kChat, "sum", id);
    store.grant_read(scope, "bob");
    const std::string jsonl = scope.release(store.export_jsonl(scope));
    std::istringstream in(jsonl);
    std::vector<nlohmann::json> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    REQUIRE(lines.size() == 5);
    CHECK(lines[0]["type"] == "meta");
    CHECK(lines[0]["tenant"] == "acme");
    CHECK(lines[1]["type"] == "message");
    CHECK(lines[1]["id"] == id);
    CHECK(lines[1]["session"] == "s1");
    CHECK(lines[2]["type"] == "fact");
    CHECK(lines[2]["message_id"] == id);
    CHECK(lines[3]["type"] == "summary");
    CHECK(lines[4]["type"] == "grant");
  });
  with_tenant(context_for("acme", "alice"), [&](auto scope) {
    CHECK(code_of([&] { (void)store.export_jsonl(scope); }) == ErrorCode::PermissionDenied);
  });
}

TEST_CASE("file names are derived injectively from the tenant id and never escape the root", "[memory]") {
  CHECK(SqliteMemoryStore::file_name_for(TenantId("acme")) == "acme.memory.db");
  CHECK(SqliteMemoryStore::file_name_for(TenantId("a.b")) == "a_2eb.memory.db");
  CHECK(SqliteMemoryStore::file_name_for(TenantId("a_2eb")) == "a_5f2eb.memory.db");
  CHECK(SqliteMemoryStore::file_name_for(TenantId("a-b")) != SqliteMemoryStore::file_name_for(TenantId("a_b")));
  for (const char* id : {"x.y.z", "a_b", "0", "t-1.memory.db"}) {
    const auto name = SqliteMemoryStore::file_name_for(TenantId(id));
    CHECK(name.find('/') == std::string::npos);
    CHECK(name.find("..") == std::string::npos);
  }
}

TEST_CASE("a retention sweep visits every tenant through an audited SystemScope", "[memory][erase][system]") {
  TempDir dir;
  auto now = std::chrono::system_clock::now();
  SqliteMemoryOptions o = options_in(dir);
  o.clock = [&] { return now; };
  SqliteMemoryStore store(o);
  for (const char* tenant : {"acme", "globex", "a.b_c"}) {
    with_tenant(context_for(tenant, "alice"), [&](auto scope) { (void)store.append(scope, kChat, {"user", "old"}); });
  }
  now += 72h;
  with_tenant(context_for("acme", "alice"), [&](auto scope) { (void)store.append(scope, kChat, {"user", "new"}); });
  // A stray file that is not a tenant database name is ignored.
  std::ofstream(std::filesystem::path(dir.path()) / "notes.txt") << "x";
  InMemoryAccessRecorder recorder;
  SystemScope system(recorder, "retention-job", "nightly retention sweep");
  const auto tenants = store.tenants(system);
  REQUIRE(tenants.size() == 3);
  CHECK(tenants[0] == TenantId("a.b_c"));
  CHECK(store.apply_retention_all(system, 48h) == 3);
  CHECK(recorder.size() == 3);
  CHECK(recorder.records_for(TenantId("globex")).size() == 1);
  with_tenant(context_for("acme", "alice"), [&](auto scope) {
    const auto left = scope.release(store.messages(scope, kChat));
    REQUIRE(left.size() == 1);
    CHECK(left[0].content == "new");
  });
  SystemScope limited(recorder, "retention-job", "nightly retention sweep", SystemScopeOptions{1, "", std::chrono::minutes(1)});
  CHECK(code_of([&] { (void)store.apply_retention_all(limited, 48h); }) == ErrorCode::RateLimited);
}
