// FakeLayers: every layer a Pipeline, a TenantRegistry or a TenantApi needs, wired by hand from
// in-memory parts and fakes the tests can steer — no Platform, no data_dir lock, no key files
// for the request path. FakeDirectory stands in for the platform's tenant book, FakeCorpus for
// the system of record (it can be told to fail), CountingBackend for the model (counts calls,
// can be told to fail). Test-only; one fixture per test case.
#pragma once

#include <tenantai/audit.h>
#include <tenantai/cache/response_cache.h>
#include <tenantai/crypto.h>
#include <tenantai/inference/echo_model.h>
#include <tenantai/inference/hashing_embedder.h>
#include <tenantai/memory/sqlite_memory_store.h>
#include <tenantai/metering/counter_store.h>
#include <tenantai/metering/fair_scheduler.h>
#include <tenantai/pipeline/pipeline.h>
#include <tenantai/pipeline/pipeline_layers.h>
#include <tenantai/pipeline/tenant_directory.h>

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "support/memory_log_storage.h"
#include "support/test_auth.h"

namespace fake_layers {

using namespace tenantai;

// The tenant book: configs in a map, quarantine by hand, readiness counted.
class FakeDirectory final : public pipeline::TenantDirectory {
 public:
  Result<std::shared_ptr<const pipeline::TenantConfig>> tenant_config(const TenantId& tenant) const override {
    std::lock_guard lock(mutex_);
    ++lookups;
    auto it = configs_.find(tenant);
    if (it == configs_.end()) return Error(ErrorCode::NotFound, "tenant '" + tenant.str() + "' is not provisioned");
    return it->second;
  }
  void set_tenant_config(const TenantId& tenant, std::shared_ptr<const pipeline::TenantConfig> config) override {
    std::lock_guard lock(mutex_);
    configs_.insert_or_assign(tenant, std::move(config));
  }
  void forget_tenant_config(const TenantId& tenant) override {
    std::lock_guard lock(mutex_);
    configs_.erase(tenant);
  }
  void ensure_ready(const TenantContext& context) override {
    std::lock_guard lock(mutex_);
    ++readiness_checks;
    auto it = quarantined_.find(context.tenant());
    if (it != quarantined_.end()) throw it->second;
  }
  void quarantine(const TenantId& tenant, const Error& reason) override {
    std::lock_guard lock(mutex_);
    quarantined_.insert_or_assign(tenant, Error(ErrorCode::TenantUnavailable, reason.message()));
  }
  // The fake's service principal is the requester itself.
  TenantContext service_context(const TenantContext& requester) const override { return requester; }

  bool knows(const TenantId& tenant) const {
    std::lock_guard lock(mutex_);
    return configs_.count(tenant) != 0;
  }

  mutable std::atomic<int> lookups{0};
  std::atomic<int> readiness_checks{0};

 private:
  mutable std::mutex mutex_;
  std::map<TenantId, std::shared_ptr<const pipeline::TenantConfig>> configs_;
  std::map<TenantId, Error> quarantined_;
};

// The system of record, in memory; `fail_with` makes every write throw that error (and write
// nothing) until it is reset.
class FakeCorpus final : public corpus::CorpusStore {
 public:
  std::optional<Error> fail_with;

  std::size_t documents_of(const TenantId& tenant) {
    std::lock_guard lock(mutex_);
    return documents_[tenant].size();
  }

 protected:
  std::size_t do_put(const TenantContext& context, const std::vector<corpus::CorpusDocument>& documents) override {
    std::lock_guard lock(mutex_);
    if (fail_with) throw *fail_with;
    for (const auto& document : documents) documents_[context.tenant()].insert_or_assign(document.id, document);
    return documents.size();
  }
  std::size_t do_remove(const TenantContext& context, const std::vector<std::string>& ids) override {
    std::lock_guard lock(mutex_);
    if (fail_with) throw *fail_with;
    std::size_t removed = 0;
    for (const auto& id : ids) removed += documents_[context.tenant()].erase(id);
    return removed;
  }
  corpus::LoadReport do_load(const TenantContext& context,
                             const std::function<void(corpus::CorpusDocument&&)>& sink) override {
    std::lock_guard lock(mutex_);
    corpus::LoadReport report;
    for (auto document : documents_[context.tenant()]) {
      sink(std::move(document.second));
      ++report.documents;
    }
    return report;
  }
  std::size_t do_erase_tenant(const TenantContext& context) override {
    std::lock_guard lock(mutex_);
    const auto n = documents_[context.tenant()].size();
    documents_.erase(context.tenant());
    return n;
  }

 private:
  std::mutex mutex_;
  std::map<TenantId, std::map<std::string, corpus::CorpusDocument>> documents_;
};

// The echo model behind a call counter; `fail_with` makes calls throw it.
class CountingBackend final : public inference::InferenceBackend {
 public:
  inference::CompletionResult complete(const inference::CompletionRequest& request) override {
    ++calls;
    {
      std::lock_guard lock(mutex_);
      if (fail_with) throw *fail_with;
    }
    return echo_.complete(request);
  }
  void fail(std::optional<Error> error) {
    std::lock_guard lock(mutex_);
    fail_with = std::move(error);
  }
  std::atomic<int> calls{0};

 private:
  std::mutex mutex_;
  std::optional<Error> fail_with;
  inference::EchoModel echo_{"echo-small"};
};

// Every layer, owned here; layers() hands out references for a Pipeline.
struct FakeLayers {
  FakeLayers() {
    prices.set("echo-small", {500'000, 1'500'000, "small"});
    router.add_model({"echo-small", {"eu", "us"}, 0});
    tiers.define({"standard", 2.0, 100000, 100'000'000, 0, 0, 32});
    prompts.publish(pipeline::answer_template());
  }
  ~FakeLayers() { pool.join(); }
  FakeLayers(const FakeLayers&) = delete;
  FakeLayers& operator=(const FakeLayers&) = delete;

  // Provisions `tenant` the way the built-in layers would, minus what these tests never use.
  void provision(const std::string& tenant, metering::Micros daily_budget = 100'000'000) {
    auto config = std::make_shared<pipeline::TenantConfig>(TenantId(tenant));
    config->tier = "standard";
    config->models.model = "echo-small";
    config->budgets.daily = daily_budget;
    directory.set_tenant_config(config->id, config);
    with_tenant(test_support::context_for(tenant, "provisioner"), [&](auto scope) {
      if (auto assigned = tiers.assign(scope, "standard"); !assigned) throw assigned.error();
      inference::TenantRouting routing;
      routing.preferred_model = "echo-small";
      routing.max_cost_tier = 100;
      router.configure(scope, routing);
      metering::BudgetPolicy budget;
      budget.tenant.daily = daily_budget;
      if (auto set = budgets.set_policy(scope, budget); !set) throw set.error();
    });
  }

  pipeline::PipelineLayers layers() {
    return {directory, audit,  limiter, budgets,   meter,    scheduler,      backend,        embedder,
            router,    prompts, tools,  corpus,    documents, vectors,       *memory,        response_cache,
            semantic_cache, embedding_cache, 8};
  }

  // The audit records of `tenant`'s log (opened for reading).
  std::uint64_t audit_size(const std::string& tenant) {
    return with_tenant(test_support::context_for(tenant, "auditor"), [&](auto scope) { return audit.size(scope); });
  }
  std::vector<audit::AuditEvent> audit_events(const std::string& tenant) {
    return with_tenant(test_support::context_for(tenant, "auditor"), [&](auto scope) {
      std::vector<audit::AuditEvent> out;
      const auto records = audit.read(scope, 0, audit.size(scope));  // kept: view() refers into it
      for (const auto& record : scope.view(records)) out.push_back(record.event.value());
      return out;
    });
  }

  test_support::TempDir dir;
  FakeDirectory directory;
  audit::CheckpointSigner signer = audit::CheckpointSigner::generate("fake-audit");
  std::shared_ptr<audit_test::MemoryLogStorage> audit_storage = std::make_shared<audit_test::MemoryLogStorage>();
  audit::AuditLog audit{dir.path(), [this] {
                          audit::AuditLogOptions options;
                          options.signer = &signer;
                          options.storage = audit_storage;
                          return options;
                        }()};
  metering::PriceTable prices;
  metering::TenantTiers tiers;
  metering::InMemoryCounterStore counters;
  metering::BudgetManager budgets{counters, prices};
  metering::RateLimiter limiter{tiers, counters, system_time_source()};
  metering::Meter meter{prices};
  boost::asio::thread_pool pool{2};
  metering::FairScheduler scheduler{pool.get_executor(), tiers, {}};
  CountingBackend backend;
  inference::HashingEmbedder embedder;
  inference::ModelRouter router;
  prompt::PromptRegistry prompts;
  tools::ToolRegistry tools;
  FakeCorpus corpus;
  pipeline::DocumentLibrary documents{nullptr};
  retrieval::VectorStore vectors{[this] {
    retrieval::VectorStoreOptions options;
    options.dim = embedder.dimension();
    options.metric = retrieval::Metric::Cosine;
    return options;
  }()};
  std::unique_ptr<memory::SqliteMemoryStore> memory = std::make_unique<memory::SqliteMemoryStore>([this] {
    memory::SqliteMemoryOptions options;
    options.root_dir = dir.path();
    return options;
  }());
  cache::ResponseCache response_cache{cache::ResponseCacheOptions{}};
  cache::SemanticCache semantic_cache{[this] {
    cache::SemanticCacheOptions options;
    options.dimension = embedder.dimension();
    return options;
  }()};
  cache::EmbeddingCache embedding_cache{cache::EmbeddingCacheOptions{}};
};

}  // namespace fake_layers
