// The shared WAL: acknowledged writes survive a crash that lost the journals' unsynced bytes,
// a damaged WAL record holds only its tenant, offboarding scrubs the tenant from the WAL.
#include <sys/wait.h>
#include <unistd.h>

#include "corpus_fixture.h"

using namespace tenantai::corpus_test;
using tenantai::test_support::code_of;

namespace {

// Runs `work` on a fresh store in a child process that then dies without running destructors
// (no checkpoint, nothing synced but what the acknowledgements synced), as a crash would leave
// it. The parent's store is closed first: one process owns a corpus directory at a time.
template <typename Work>
void in_crashing_child(Fixture& f, Work work) {
  f.store.reset();
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      f.reopen();
      work();
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

// Cuts a journal back to its header: the unsynced appends a crash may lose.
void lose_unsynced_appends(const std::filesystem::path& journal, const std::string& tenant) {
  std::filesystem::resize_file(journal, 8 + 4 + 2 + tenant.size());
}

}  // namespace

TEST_CASE("corpus: acknowledged writes whose journal bytes were lost come back from the shared WAL", "[corpus]") {
  Fixture f;
  f.sealed_tenants = {"acme"};
  const auto acme = context_for("acme");
  const auto globex = context_for("globex");
  in_crashing_child(f, [&] {
    f.put(acme, {document("a1", "ACME-SEALED-ONE")});
    f.put(globex, {document("g1", "globex one"), document("g2", "globex two")});
    f.put(acme, {document("a2", "acme two")});
    f.remove(globex, {"g1"});
  });
  // The sealed tenant's records are sealed in the WAL too.
  CHECK(file_bytes(f.wal()).find("ACME-SEALED-ONE") == std::string::npos);
  CHECK(file_bytes(f.wal()).find("globex two") != std::string::npos);  // control: the scan can see
  lose_unsynced_appends(f.root() / "acme.corpus", "acme");
  std::filesystem::remove(f.root() / "globex.corpus");  // even its creation was never synced
  f.reopen();
  const auto a = f.load(acme);
  REQUIRE(a.size() == 2);
  CHECK(a.at("a1").text == "ACME-SEALED-ONE");
  const auto g = f.load(globex);
  REQUIRE(g.size() == 1);
  CHECK(g.at("g2").text == "globex two");
  CHECK(f.put(globex, {document("g3", "after recovery")}) == 1);  // appends continue after the replay
  f.reopen();
  CHECK(f.load(globex).size() == 2);
}

TEST_CASE("corpus: writes through a small WAL (many checkpoints) all survive a crash", "[corpus]") {
  Fixture f;
  f.wal_bytes = 64 << 10;  // about 20 records per generation
  in_crashing_child(f, [&] {
    for (int i = 0; i < 300; ++i) {
      f.put(context_for(numbered("t", i % 5)), {document(numbered("d", i), std::string(4096, 'x'))});
    }
  });
  f.reopen();
  std::size_t total = 0;
  for (int t = 0; t < 5; ++t) total += f.load(context_for(numbered("t", t))).size();
  CHECK(total == 300);
  CHECK(std::filesystem::file_size(f.wal()) <= (1u << 20));  // 1.3 MB logged: reused in place, not grown
}

TEST_CASE("corpus: a damaged WAL record holds its tenant only, named, across restarts", "[corpus]") {
  Fixture f;
  const auto acme = context_for("acme");
  const auto globex = context_for("globex");
  in_crashing_child(f, [&] {
    f.put(acme, {document("a1", "ACME-FIRST-RECORD")});
    f.put(globex, {document("g1", "globex one")});
    f.put(acme, {document("a2", "acme two")});
    f.put(globex, {document("g2", "globex two")});
  });
  std::string wal = file_bytes(f.wal());
  const auto at = wal.find("ACME-FIRST-RECORD");
  REQUIRE(at != std::string::npos);
  wal[at] ^= 0x01;  // bit rot in a record with synced records behind it
  write_bytes(f.wal(), wal);
  lose_unsynced_appends(f.root() / "acme.corpus", "acme");
  lose_unsynced_appends(f.root() / "globex.corpus", "globex");
  const auto acme_path = f.root() / "acme.corpus";
  const auto acme_journal = file_bytes(acme_path);
  for (int restart = 0; restart < 2; ++restart) {
    f.reopen();
    try {
      f.load(acme);
      FAIL("a tenant with a damaged WAL record loaded");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::TenantUnavailable);
      CHECK(std::string(e.what()).find(f.wal().string()) != std::string::npos);
      CHECK(std::string(e.what()).find("byte") != std::string::npos);
    }
    CHECK(f.load(globex).size() == 2);  // the other tenant is whole
    CHECK(file_bytes(acme_path) == acme_journal);  // nothing applied or cut
  }
  bool kept = false;  // the damaged log is kept for the operator
  for (const auto& entry : std::filesystem::directory_iterator(f.root())) {
    kept = kept || entry.path().filename().string().rfind("shared.wal.damaged-", 0) == 0;
  }
  CHECK(kept);
  // Offboarding the held tenant clears it; it starts empty.
  CHECK(with_tenant(acme, [&](auto scope) { return f.store->erase_tenant(scope); }) == 0);
  f.reopen();
  CHECK(f.load(acme).empty());
}

TEST_CASE("corpus: erasing a tenant scrubs its records from the shared WAL", "[corpus]") {
  Fixture f;
  const auto acme = context_for("acme");
  const auto globex = context_for("globex");
  f.put(globex, {document("g", "GLOBEX-WAL-CANARY")});
  f.put(acme, {document("a", "acme stays")});
  REQUIRE(file_bytes(f.wal()).find("GLOBEX-WAL-CANARY") != std::string::npos);  // control
  CHECK(with_tenant(globex, [&](auto scope) { return f.store->erase_tenant(scope); }) == 1);
  CHECK(file_bytes(f.wal()).find("GLOBEX-WAL-CANARY") == std::string::npos);
  CHECK(file_bytes(f.wal()).find("acme stays") == std::string::npos);  // the checkpoint synced acme instead
  f.reopen();
  CHECK(f.load(acme).size() == 1);
  CHECK(f.load(globex).empty());
}

TEST_CASE("corpus: a WAL frame whose head is damaged holds the tenants of that generation only", "[corpus]") {
  Fixture f;
  const auto initech = context_for("initech");
  f.put(initech, {document("i1", "initech, synced by the last checkpoint")});
  in_crashing_child(f, [&] {
    f.put(context_for("acme"), {document("a1", "ACME-FIRST-RECORD")});
    f.put(context_for("globex"), {document("g1", "globex one")});
    f.put(context_for("acme"), {document("a2", "acme two")});
  });
  std::string wal = file_bytes(f.wal());
  const auto body = wal.find("ACME-FIRST-RECORD");
  REQUIRE(body != std::string::npos);
  const auto head = wal.rfind("TWAL", body);
  REQUIRE(head != std::string::npos);
  wal[head + 8] ^= 0x01;  // the generation field: the head no longer verifies, nor names its tenant
  write_bytes(f.wal(), wal);
  f.reopen();
  CHECK(code_of([&] { f.load(context_for("acme")); }) == ErrorCode::TenantUnavailable);
  CHECK(code_of([&] { f.load(context_for("globex")); }) == ErrorCode::TenantUnavailable);
  CHECK(f.load(initech).size() == 1);  // logged nothing in that generation: unaffected
}

TEST_CASE("corpus: a second store on the same directory is refused while the first is open", "[corpus]") {
  Fixture f;
  FileCorpusOptions options;
  options.root = f.root();
  CHECK(code_of([&] { FileCorpusStore second(options); }) == ErrorCode::StorageFailure);
  f.store.reset();
  CHECK_NOTHROW(FileCorpusStore(options));
}
