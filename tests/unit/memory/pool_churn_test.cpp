// Many tenants through a small handle pool: open file descriptors stay bounded, nothing is
// lost, and under concurrency no tenant ever reads another tenant's canary.
#include <catch2/catch.hpp>
#include <tenantai/core.h>
#include <tenantai/memory.h>

#include <atomic>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::memory;
using tenantai::test_support::context_for;
using tenantai::test_support::TempDir;

namespace {
std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}
std::string numbered(std::string_view prefix, int i) {
  std::string out(prefix);
  out += std::to_string(i);
  return out;
}
const MemoryScope kChat{"user", "agent", "session"};

// A fresh directory on tmpfs (/dev/shm) when there is one: this test is about the pool (fds,
// nothing lost), not disk speed, which memory_bench measures on a real disk.
struct FastDir {
  std::filesystem::path path;
  std::unique_ptr<TempDir> fallback;
  FastDir() {
    std::error_code ec;
    if (std::filesystem::is_directory("/dev/shm", ec)) {
      const auto base = std::filesystem::path("/dev/shm") / numbered("tenantai-churn-", getpid());
      std::filesystem::remove_all(base, ec);
      if (std::filesystem::create_directory(base, ec)) {
        path = base;
        return;
      }
    }
    fallback = std::make_unique<TempDir>();
    path = fallback->path();
  }
  ~FastDir() {
    std::error_code ec;
    if (!fallback) std::filesystem::remove_all(path, ec);
  }
};
}  // namespace

TEST_CASE("10,000 tenants churn through 64 handles with bounded fds and nothing lost", "[memory][pool]") {
  constexpr int kTenants = 10'000;
  constexpr std::size_t kHandles = 64;
  FastDir dir;
  SqliteMemoryOptions o;
  o.root_dir = dir.path.string();
  o.max_open_handles = kHandles;
  SqliteMemoryStore store(o);
  std::vector<TenantContext> contexts;
  contexts.reserve(kTenants);
  for (int t = 0; t < kTenants; ++t) contexts.push_back(context_for(numbered("t", t), "user"));

  const std::size_t baseline = open_fds();
  std::size_t peak_fds = baseline, peak_handles = 0;
  for (int t = 0; t < kTenants; ++t) {
    with_tenant(contexts[t], [&](auto scope) { (void)store.append(scope, kChat, {"user", numbered("canary-", t)}); });
    if (t % 250 == 0) {
      peak_fds = std::max(peak_fds, open_fds());
      peak_handles = std::max(peak_handles, store.open_handles());
    }
  }
  // Second pass in another order: every tenant is reopened and still has exactly its message.
  int intact = 0;
  for (int i = 0; i < kTenants; ++i) {
    const int t = (i * 7919) % kTenants;
    with_tenant(contexts[t], [&](auto scope) {
      const auto history = scope.release(store.messages(scope, kChat));
      if (history.size() == 1 && history[0].content == numbered("canary-", t)) ++intact;
    });
    if (i % 250 == 0) peak_fds = std::max(peak_fds, open_fds());
  }
  CHECK(intact == kTenants);
  CHECK(peak_handles <= kHandles);
  CHECK(store.open_handles() <= kHandles);
  // WAL databases use up to 3 descriptors each (database, -wal, -shm).
  CHECK(peak_fds <= baseline + 3 * kHandles + 8);
}

TEST_CASE("8 threads over 40 tenants and a pool of 8 handles never mix tenants", "[memory][pool][threads][concurrency]") {
  constexpr int kTenants = 40;
  TempDir dir;
  SqliteMemoryOptions o;
  o.root_dir = dir.path();
  o.max_open_handles = 8;
  SqliteMemoryStore store(o);
  std::vector<TenantContext> contexts;
  for (int t = 0; t < kTenants; ++t) contexts.push_back(context_for(numbered("c", t), "user"));
  std::atomic<int> foreign{0}, errors{0}, reads{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 8; ++w) {
    threads.emplace_back([&, w] {
      try {
        for (int i = 0; i < 60; ++i) {
          const int t = (i * 11 + w * 5) % kTenants;
          with_tenant(contexts[t], [&](auto scope) {
            (void)store.append(scope, kChat, {"user", numbered("CANARY-", t)});
            for (const auto& m : scope.release(store.messages(scope, kChat))) {
              if (m.content != numbered("CANARY-", t)) ++foreign;
              ++reads;
            }
          });
        }
      } catch (...) {
        ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(errors == 0);
  CHECK(foreign == 0);
  CHECK(reads > 0);
  int total = 0;
  for (int t = 0; t < kTenants; ++t) {
    with_tenant(contexts[t], [&](auto scope) { total += static_cast<int>(scope.view(store.messages(scope, kChat)).size()); });
  }
  CHECK(total == 8 * 60);
}
