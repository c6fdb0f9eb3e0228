// Journal compaction: triggered by dead bytes, keeps every live document (sealed ones too),
// and is crash-safe: a child killed at a random point of a compaction loses nothing.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include "corpus_fixture.h"

using namespace tenantai::corpus_test;

namespace {

std::string version_text(int id, int version) {
  std::string text = numbered("text of ", id);
  text += numbered(" version ", version);
  text.append(1024, 'x');
  return text;
}

// The documents a journal should hold after `ids` puts, `versions` replacements of each and
// the removal of every fifth id.
std::map<std::string, std::string> churn(Fixture& f, const TenantContext& ctx, int ids, int versions) {
  std::map<std::string, std::string> expected;
  for (int v = 0; v < versions; ++v) {
    for (int i = 0; i < ids; ++i) {
      f.put(ctx, {document(numbered("d", i), version_text(i, v))});
      expected[numbered("d", i)] = version_text(i, v);
    }
  }
  for (int i = 0; i < ids; i += 5) {
    f.remove(ctx, {numbered("d", i)});
    expected.erase(numbered("d", i));
  }
  return expected;
}

void check_holds(Fixture& f, const TenantContext& ctx, const std::map<std::string, std::string>& expected) {
  std::map<std::string, int> seen;
  std::map<std::string, std::string> texts;
  with_tenant(ctx, [&](auto scope) {
    f.store->load(scope, [&](CorpusDocument&& d) {
      ++seen[d.id];
      texts[d.id] = d.text;
    });
  });
  CHECK(texts == expected);
  for (const auto& [id, count] : seen) CHECK(count == 1);
}

}  // namespace

TEST_CASE("corpus: a journal whose dead records outweigh its live ones is compacted, sealed ones too", "[corpus]") {
  Fixture f;
  f.sealed_tenants = {"acme"};
  f.compact_dead_bytes = 64 << 10;
  f.reopen();
  for (const std::string tenant : {"acme", "globex"}) {
    const auto ctx = context_for(tenant);
    const auto expected = churn(f, ctx, 40, 6);  // about 600 KiB written, 5/6 of it dead
    const auto journal = f.store->path_of(TenantId(tenant));
    CHECK(std::filesystem::file_size(journal) < 200u << 10);  // compacted on the way
    check_holds(f, ctx, expected);
    f.reopen();
    check_holds(f, ctx, expected);
    f.put(ctx, {document("after", "written after compaction")});  // sequences continue
    f.reopen();
    CHECK(f.load(ctx).count("after") == 1);
  }
}

TEST_CASE("corpus: an explicit compaction drops every dead record and reports the bytes", "[corpus]") {
  Fixture f;
  const auto acme = context_for("acme");
  const auto expected = churn(f, acme, 20, 2);
  const auto journal = f.store->path_of(TenantId("acme"));
  const auto before = std::filesystem::file_size(journal);
  const auto reclaimed = with_tenant(acme, [&](auto scope) { return f.store->compact(scope); });
  CHECK(reclaimed > 0);
  CHECK(std::filesystem::file_size(journal) == before - reclaimed);
  LoadReport report;
  f.reopen();
  const auto loaded = f.load(acme, &report);
  CHECK(loaded.size() == expected.size());
  CHECK(report.records == expected.size() + 1);  // the live puts and the highest-sequence remove
  CHECK_FALSE(std::filesystem::exists(journal.string() + ".compact"));
}

TEST_CASE("corpus: a compaction killed at a random point leaves every live document exactly once", "[corpus][timing]") {
  Fixture f;
  f.sealed_tenants = {"acme"};
  f.reopen();
  const auto acme = context_for("acme");
  // 200 KiB live, 300 KiB dead at the last checkpoint; then the child logs 800 KiB of live
  // documents in the WAL, so the compacted journal spans offsets those WAL frames name.
  const auto expected = churn(f, acme, 100, 3);
  f.store.reset();
  std::vector<CorpusDocument> late;
  auto with_late = expected;
  for (int i = 0; i < 300; ++i) {
    late.push_back(document(numbered("late-", i), version_text(1000 + i, 0)));
    with_late[late.back().id] = late.back().text;
  }
  const auto root = f.root();
  const auto pristine = std::filesystem::path(f.dir.path()) / "pristine";
  std::filesystem::copy(root, pristine);
  std::mt19937 rng(20261202);
  int killed = 0, finished = 0;
  for (int round = 0; round < 12; ++round) {
    std::filesystem::remove_all(root);
    std::filesystem::copy(pristine, root);
    int acked[2];
    REQUIRE(::pipe(acked) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // Writes logged in the WAL at offsets of the old journal, then the compaction: its void
      // frame must keep recovery from replaying those offsets into the new file.
      f.reopen();
      f.put(acme, late);
      (void)::write(acked[1], "k", 1);
      with_tenant(acme, [&](auto scope) { f.store->compact(scope); });
      ::_exit(0);
    }
    char byte = 0;
    REQUIRE(::read(acked[0], &byte, 1) == 1);
    ::close(acked[0]);
    ::close(acked[1]);
    ::usleep(std::uniform_int_distribution<unsigned>(0, 30'000)(rng));
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    (WIFSIGNALED(status) ? killed : finished) += 1;
    f.reopen();
    check_holds(f, acme, with_late);
    f.store.reset();
  }
  INFO("killed " << killed << ", finished " << finished);
  CHECK(killed > 0);
}
