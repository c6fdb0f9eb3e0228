// A process SIGKILLed in the middle of writes loses nothing it had committed.
#include <catch2/catch.hpp>
#include <tenantai/core.h>
#include <tenantai/memory.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <set>

#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::memory;
using tenantai::test_support::context_for;
using tenantai::test_support::TempDir;

namespace {
const MemoryScope kChat{"alice", "bot", "s1"};

// Child: append forever, reporting each committed message id through `fd`. Never returns.
[[noreturn]] void write_until_killed(const std::string& root, int fd) {
  try {
    SqliteMemoryOptions o;
    o.root_dir = root;
    SqliteMemoryStore store(o);
    const auto ctx = context_for("crashy", "alice");
    for (std::int64_t i = 0;; ++i) {
      const std::int64_t id = with_tenant(ctx, [&](auto scope) {
        return scope.release(store.append(scope, kChat, {"user", "message " + std::to_string(i)}));
      });
      if (write(fd, &id, sizeof id) != static_cast<ssize_t>(sizeof id)) _exit(3);
    }
  } catch (...) {
    _exit(2);
  }
}
}  // namespace

TEST_CASE("every message committed before a SIGKILL is present after reopening", "[memory][crash]") {
  TempDir dir;
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(pipe_fds[0]);
    write_until_killed(dir.path(), pipe_fds[1]);
  }
  close(pipe_fds[1]);
  std::set<std::int64_t> committed;
  std::int64_t id = 0;
  while (committed.size() < 300 && read(pipe_fds[0], &id, sizeof id) == static_cast<ssize_t>(sizeof id)) {
    committed.insert(id);
  }
  kill(child, SIGKILL);  // mid-write: the child is appending as fast as it can
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status));
  while (read(pipe_fds[0], &id, sizeof id) == static_cast<ssize_t>(sizeof id)) committed.insert(id);
  close(pipe_fds[0]);
  REQUIRE(committed.size() >= 300);

  SqliteMemoryOptions o;
  o.root_dir = dir.path();
  SqliteMemoryStore store(o);
  with_tenant(context_for("crashy", "alice"), [&](auto scope) {
    const auto history = scope.release(store.messages(scope, kChat));
    std::set<std::int64_t> present;
    for (const auto& m : history) present.insert(m.id);
    std::size_t missing = 0;
    for (auto c : committed) missing += present.count(c) == 0 ? 1 : 0;
    CHECK(missing == 0);
    CHECK(history.size() >= committed.size());  // the last, unreported one may have committed too
    // Messages are intact and in order.
    for (std::size_t i = 0; i < history.size(); ++i) CHECK(history[i].content == "message " + std::to_string(i));
  });
}
