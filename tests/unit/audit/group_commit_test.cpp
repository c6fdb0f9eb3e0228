// Durability of acknowledged events (group commit): a writer process appends, calls sync() and
// only then acknowledges; it is killed with SIGKILL at a random point; every acknowledged event
// must be in the log when it is opened again. Before sync() existed, events sat in the write
// buffer until the next checkpoint and a kill lost them.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <set>
#include <thread>

#include "audit_fixture.h"

using namespace audit_test;

namespace {

// The child: appends from 4 threads, each event synced before its index is written to `ack_fd`.
[[noreturn]] void run_writer(const std::filesystem::path& root, int ack_fd) {
  CheckpointSigner signer = CheckpointSigner::load((root / "signer.key").string());
  AuditLogOptions options;
  options.signer = &signer;
  options.checkpoint_every_events = 1u << 30;  // no checkpoint: only sync() makes events durable
  options.checkpoint_every = std::chrono::hours(24);
  AuditLog log(root / "audit", options);
  const auto ctx = test_support::context_for("crash-tenant");
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&] {
      for (;;) {
        with_tenant(ctx, [&](auto scope) {
          AuditEvent e;
          e.operation = Operation::Infer;
          e.target = "acked";
          const std::uint64_t index = scope.release(log.append(scope, e));
          log.sync(scope);
          const auto n = ::write(ack_fd, &index, sizeof index);
          if (n != static_cast<ssize_t>(sizeof index)) ::_exit(3);
        });
      }
    });
  }
  for (auto& t : writers) t.join();
  ::_exit(0);
}

}  // namespace

TEST_CASE("Every event acknowledged after sync() survives kill -9 of the writer (10 rounds)", "[audit][group_commit]") {
  test_support::TempDir dir;
  const std::filesystem::path root(dir.path());
  CheckpointSigner::generate("crash-log").save((root / "signer.key").string());
  std::mt19937 rng(1201);
  std::set<std::uint64_t> acknowledged;
  for (int round = 0; round < 10; ++round) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::close(fds[0]);
      run_writer(root, fds[1]);
    }
    ::close(fds[1]);
    const std::size_t wanted = 50 + rng() % 400;  // kill at a random point
    std::uint64_t index = 0;
    std::size_t seen = 0;
    while (seen < wanted && ::read(fds[0], &index, sizeof index) == static_cast<ssize_t>(sizeof index)) {
      acknowledged.insert(index);
      ++seen;
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    while (::read(fds[0], &index, sizeof index) == static_cast<ssize_t>(sizeof index)) acknowledged.insert(index);
    ::close(fds[0]);
    REQUIRE(seen == wanted);

    CheckpointSigner signer = CheckpointSigner::load((root / "signer.key").string());
    AuditLog reopened(root / "audit", {.signer = &signer});
    const auto ctx = test_support::context_for("crash-tenant");
    const auto size = with_tenant(ctx, [&](auto scope) { return reopened.size(scope); });
    INFO("round " << round << ": log size " << size << ", highest acknowledged " << *acknowledged.rbegin());
    REQUIRE(size > *acknowledged.rbegin());
    const auto records = with_tenant(ctx, [&](auto scope) { return scope.release(reopened.read(scope, 0, size)); });
    std::size_t missing = 0;
    for (auto i : acknowledged) {
      if (i >= records.size() || !records[i].event || records[i].event->target != "acked") ++missing;
    }
    CHECK(missing == 0);
  }
  CHECK(acknowledged.size() >= 500);
}
