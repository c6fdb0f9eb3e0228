#include <catch2/catch.hpp>
#include <tenantai/core.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "support/test_auth.h"

using namespace tenantai;
using tenantai::test_support::context_for;

namespace {
struct Bucket {
  std::mutex mutex;
  std::multiset<std::string> items;
};
}  // namespace

TEST_CASE("each tenant gets its own partition, reachable only through its scope", "[core][partitions]") {
  TenantPartitions<Bucket> store;
  auto acme = context_for("acme");
  auto globex = context_for("globex");
  with_tenant(acme, [&](auto s) {
    auto p = store.get_or_create(s);
    p->items.insert("acme-canary");
    return 0;
  });
  with_tenant(globex, [&](auto s) {
    CHECK(store.find(s) == nullptr);
    store.get_or_create(s)->items.insert("globex-canary");
    CHECK(store.find(s)->items.count("acme-canary") == 0);
    return 0;
  });
  CHECK(store.size() == 2);
  with_tenant(acme, [&](auto s) {
    auto erased = store.erase(s);
    REQUIRE(erased != nullptr);
    CHECK(erased->items.count("acme-canary") == 1);
    CHECK(store.find(s) == nullptr);
    return 0;
  });
  CHECK(store.size() == 1);
}

TEST_CASE("tenant enumeration needs a SystemScope", "[core][partitions]") {
  TenantPartitions<Bucket> store;
  with_tenant(context_for("t1"), [&](auto s) { return store.get_or_create(s) != nullptr; });
  with_tenant(context_for("t2"), [&](auto s) { return store.get_or_create(s) != nullptr; });
  InMemoryAccessRecorder recorder;
  SystemScope sys(recorder, "ops", "capacity report");
  auto tenants = store.tenants(sys);
  CHECK(tenants.size() == 2);
}

TEST_CASE("concurrent canary writers never see each other's partition", "[core][partitions][concurrency]") {
  TenantPartitions<Bucket> store;
  std::vector<TenantContext> contexts;
  for (int i = 0; i < 50; ++i) contexts.push_back(context_for("tenant-" + std::to_string(i)));
  std::atomic<int> crossings{0};
  auto worker = [&](int offset) {
    for (int round = 0; round < 40; ++round) {
      for (int i = offset; i < 50; i += 2) {
        with_tenant(contexts[i], [&](auto s) {
          auto p = store.get_or_create(s);
          std::lock_guard lock(p->mutex);
          p->items.insert("canary-" + s.tenant().str());
          for (const auto& item : p->items) {
            if (item != "canary-" + s.tenant().str()) ++crossings;
          }
          return 0;
        });
      }
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  CHECK(crossings == 0);
  CHECK(store.size() == 50);
}
