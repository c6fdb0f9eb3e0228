#include "pipeline/tenant_layers.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/durable_file.h"
#include "tenantai/audit/sink.h"
#include "tenantai/core/api_key_authenticator.h"
#include "tenantai/memory/memory_store.h"
#include "tenantai/pipeline/pipeline.h"
#include "tenantai/pipeline/platform.h"
#include "tenantai/pipeline/search_documents_tool.h"

namespace tenantai::pipeline {

void write_export_file(ExportManifest& manifest, const std::string& name, const std::string& content) {
  tenantai::detail::write_file_atomic(manifest.directory / name, content, 0600);
  manifest.files[name] = sha256_hex(content);
}

namespace detail {
namespace {

// A layer over one Platform; the defaults do nothing (most layers have nothing to export or
// verify).
class PlatformLayer : public TenantLayer {
 public:
  explicit PlatformLayer(Platform& platform) : platform_(platform) {}
  void provision(const TenantContext&, const TenantConfig&, OnboardReport&) override {}
  void rollback(const TenantContext& tenant, const TenantConfig&, const OnboardReport&) noexcept override {
    try {
      ErasureSummary ignored;
      erase(tenant, ignored);
    } catch (...) {
      // best effort: a rollback must not hide the error that caused it
    }
  }
  void export_to(const TenantContext&, ExportManifest&) override {}
  void erase(const TenantContext&, ErasureSummary&) override {}
  void verify(const TenantContext&) override {}

 protected:
  Platform& platform_;
};

// The tenant's data keys: nothing to provision (created on first seal), shredded by the registry
// last (after the erase event, which is still sealed with them); verified first, so damaged keys
// quarantine the tenant naming the keyring before any layer tries to open what they seal.
class KeyLayer final : public PlatformLayer {
 public:
  using PlatformLayer::PlatformLayer;
  std::string_view name() const noexcept override { return "keys"; }
  void verify(const TenantContext& tenant) override { platform_.sealer().verify(tenant); }
};

// The tenant's own tier policy (its quotas, scheduler weight) and the assignment to it.
class RateLimitLayer final : public PlatformLayer {
 public:
  using PlatformLayer::PlatformLayer;
  std::string_view name() const noexcept override { return "rate_limits"; }
  void provision(const TenantContext& tenant, const TenantConfig& config, OnboardReport&) override {
    auto base = platform_.tiers().find_tier(config.tier);
    if (!base) throw base.error();
    metering::TierPolicy policy = **base;
    policy.name = "tenant/" + config.id.str();
    policy.weight = (*base)->weight * std::max<std::uint32_t>(config.scheduler_weight, 1);
    policy.requests_per_minute = config.quotas.requests_per_minute;
    policy.tokens_per_minute = config.quotas.tokens_per_minute;
    policy.request_burst = 0;  // = the tenant's own per-minute limits, not the base tier's bursts
    policy.token_burst = 0;
    policy.max_queued = std::max<std::uint32_t>(config.quotas.queue_limit, 1);
    platform_.tiers().define(policy);
    with_tenant(tenant, [&](auto scope) {
      if (auto assigned = platform_.tiers().assign(scope, policy.name); !assigned) throw assigned.error();
    });
  }
  void erase(const TenantContext& tenant, ErasureSummary&) override {
    with_tenant(tenant, [&](auto scope) { platform_.tiers().unassign(scope); });
  }
};

class BudgetLayer final : public PlatformLayer {
 public:
  using PlatformLayer::PlatformLayer;
  std::string_view name() const noexcept override { return "budgets"; }
  void provision(const TenantContext& tenant, const TenantConfig& config, OnboardReport&) override {
    metering::BudgetPolicy budget;
    budget.tenant.daily = config.budgets.daily;
    budget.tenant.monthly = config.budgets.monthly;
    with_tenant(tenant, [&](auto scope) {
      if (auto set = platform_.budgets().set_policy(scope, budget); !set) throw set.error();
    });
  }
  void erase(const TenantContext& tenant, ErasureSummary&) override {
    with_tenant(tenant, [&](auto scope) { (void)platform_.budgets().set_policy(scope, metering::BudgetPolicy{}); });
  }
};

class RoutingLayer final : public PlatformLayer {
 public:
  using PlatformLayer::PlatformLayer;
  std::string_view name() const noexcept override { return "adapters"; }
  void provision(const TenantContext& tenant, const TenantConfig& config, OnboardReport& report) override {
    with_tenant(tenant, [&](auto scope) {
      inference::TenantRouting routing;
      routing.preferred_model = config.models.model;
      routing.max_cost_tier = 100;
      for (const auto& adapter : config.models.adapters) {
        platform_.router().register_adapter(scope, {adapter, config.models.model});
        report.adapters.push_back(adapter);
      }
      routing.default_adapter = config.models.default_adapter;
      platform_.router().configure(scope, routing);
    });
  }
  void erase(const TenantContext& tenant, ErasureSummary& summary) override {
    summary.count("adapters", with_tenant(tenant, [&](auto scope) { return platform_.router().erase_tenant(scope); }));
  }
};

class PromptLayer final : public PlatformLayer {
 public:
  using PlatformLayer::PlatformLayer;
  std::string_view name() const noexcept override { return "prompt_overlays"; }
  void provision(const TenantContext& tenant, const TenantConfig& config, OnboardReport& report) override {
    if (config.prompt_overlay.empty()) return;
    prompt::Overlay overlay;
    overlay.base = Platform::kAnswerTemplate;
    overlay.base_version = platform_.prompts().latest_version(Platform::kAnswerTemplate);
    overlay.slots = config.prompt_overlay;
    report.overlay_version =
        with_tenant(tenant, [&](auto scope) { return platform_.prompts().set_overlay(scope, overlay); });
  }
  void erase(const TenantContext& tenant, ErasureSummary& summary) override {
    summary.count("prompt_overlays",
                  with_tenant(tenant, [&](auto scope) { return platform_.prompts().erase_tenant(scope); }));
  }
};

// The response, semantic and embedding caches: the opt-out on onboarding, flushed (and opted
// out, so nothing new is stored) on erasure.
class CacheLayer final : public PlatformLayer {
 public:
  using PlatformLayer::PlatformLayer;
  std::string_view name() const noexcept override { return "caches"; }
  void provision(const TenantContext& tenant, const TenantConfig& config, OnboardReport&) override {
    set_opt_out(tenant, config.cache_opt_out);
  }
  void rollback(const TenantContext& tenant, const TenantConfig&, const OnboardReport&) noexcept override {
    try {
      set_opt_out(tenant, false);
    } catch (...) {
    }
  }
  void erase(const TenantContext& tenant, ErasureSummary& summary) override {
    with_tenant(tenant, [&](auto scope) {
      summary.count("response_cache", platform_.response_cache().flush(scope));
      platform_.response_cache().set_opt_out(scope, true);
      summary.count("semantic_cache", platform_.semantic_cache().flush(scope));
      platform_.semantic_cache().set_opt_out(scope, true);
      summary.count("embedding_cache", platform_.embedding_cache().flush(scope));
    });
  }

 private:
  void set_opt_out(const TenantContext& tenant, bool opted_out) {
    with_tenant(tenant, [&](auto scope) {
      platform_.response_cache().set_opt_out(scope, opted_out);
      platform_.semantic_cache().set_opt_out(scope, opted_out);
    });
  }
};

class ToolLayer final : public PlatformLayer {
 public:
  using PlatformLayer::PlatformLayer;
  std::string_view name() const noexcept override { return "tools"; }
  void provision(const TenantContext& tenant, const TenantConfig&, OnboardReport&) override {
    with_tenant(tenant,
                [&](auto scope) { platform_.tools().add(scope, std::make_shared<SearchDocumentsTool>(pipeline_layers(platform_))); });
  }
  void erase(const TenantContext& tenant, ErasureSummary& summary) override {
    summary.count("tools", with_tenant(tenant, [&](auto scope) { return platform_.tools().erase_tenant(scope); }));
  }
};

class ApiKeyLayer final : public PlatformLayer {
 public:
  using PlatformLayer::PlatformLayer;
  std::string_view name() const noexcept override { return "api_keys"; }
  void provision(const TenantContext&, const TenantConfig& config, OnboardReport& report) override {
    for (const auto& key : config.api_keys) {
      Principal principal{config.id, key.actor, key.groups, key.capabilities};
      if (key.secret.empty()) {
        auto issued = platform_.api_keys().issue(std::move(principal));
        report.key_ids.push_back(issued.key_id);
        report.issued_secrets[key.actor] = issued.secret;
      } else {
        report.key_ids.push_back(platform_.api_keys().add(key.secret, std::move(principal)));
      }
    }
  }
  void rollback(const TenantContext&, const TenantConfig&, const OnboardReport& report) noexcept override {
    for (const auto& key_id : report.key_ids) {
      try {
        (void)platform_.api_keys().revoke(key_id);
      } catch (...) {
      }
    }
  }
  void erase(const TenantContext& tenant, ErasureSummary& summary) override {
    std::uint64_t revoked = 0;
    for (const auto& key : platform_.api_keys().keys_of(tenant.tenant())) {
      if (!key.revoked && platform_.api_keys().revoke(key.key_id)) ++revoked;
    }
    summary.count("api_keys_revoked", revoked);
  }
};

// The system of record (corpus store) and the in-memory indexes filled from it.
class DocumentLayer final : public PlatformLayer {
 public:
  using PlatformLayer::PlatformLayer;
  std::string_view name() const noexcept override { return "documents"; }
  void rollback(const TenantContext&, const TenantConfig&, const OnboardReport&) noexcept override {}
  void export_to(const TenantContext& tenant, ExportManifest& manifest) override {
    with_tenant(tenant, [&](auto scope) {
      std::string lines;
      const auto all = platform_.documents().all(scope);
      for (const auto& doc : scope.view(all)) {
        lines += nlohmann::json{{"id", doc.id}, {"title", doc.title}, {"text", doc.text}, {"acl_groups", doc.acl_groups}}
                     .dump();
        lines += '\n';
      }
      write_export_file(manifest, "documents.jsonl", lines);
    });
  }
  void erase(const TenantContext& tenant, ErasureSummary& summary) override {
    with_tenant(tenant, [&](auto scope) {
      summary.count("vectors", scope.view(platform_.vectors().stats(scope)).documents);
      platform_.vectors().drop_tenant(scope);
      summary.count("documents", platform_.documents().erase_tenant(scope));
      summary.count("corpus", platform_.corpus().erase_tenant(scope));
    });
  }
  void verify(const TenantContext& tenant) override { restore(tenant); }

 private:
  void restore(const TenantContext& tenant) {
    auto config = platform_.tenant_config(tenant.tenant());
    const bool seal = !config || (*config)->encryption_required;
    with_tenant(tenant, [&](auto scope) {
      std::vector<retrieval::Document> vectors;
      const auto report = platform_.corpus().load(scope, [&](corpus::CorpusDocument&& d) {
        platform_.documents().put(scope, StoredText{d.id, d.title, d.text, d.acl_groups}, seal);
        vectors.push_back({std::move(d.id), std::move(d.vector), std::move(d.acl_groups), std::move(d.metadata)});
      });
      for (auto& document : vectors) platform_.vectors().upsert(scope, std::move(document));
      if (report.documents == 0 && report.torn_bytes_cut == 0) return;
      audit::AuditEvent event;
      event.operation = audit::Operation::Read;
      event.target = "corpus";
      event.detail = fmt::format("restored {} documents from {} records; torn tail cut: {} bytes", report.documents,
                                 report.records, report.torn_bytes_cut);
      platform_.audit().append(scope, std::move(event));
      platform_.audit().sync(scope);
    });
  }
};

class MemoryLayer final : public PlatformLayer {
 public:
  using PlatformLayer::PlatformLayer;
  std::string_view name() const noexcept override { return "memory"; }
  void rollback(const TenantContext&, const TenantConfig&, const OnboardReport&) noexcept override {}
  void export_to(const TenantContext& tenant, ExportManifest& manifest) override {
    with_tenant(tenant, [&](auto scope) {
      write_export_file(manifest, "memory.jsonl", scope.release(platform_.memory().export_jsonl(scope), "export.memory"));
    });
  }
  void erase(const TenantContext& tenant, ErasureSummary& summary) override {
    with_tenant(tenant, [&](auto scope) { platform_.memory().erase_tenant(scope); });
    summary.note("memory", "database file removed");
  }
  void verify(const TenantContext& tenant) override {
    with_tenant(tenant, [&](auto scope) { platform_.memory().verify(scope); });
  }
};

// Usage records are billing evidence: exported, kept after offboarding.
class UsageLayer final : public PlatformLayer {
 public:
  using PlatformLayer::PlatformLayer;
  std::string_view name() const noexcept override { return "usage"; }
  void rollback(const TenantContext&, const TenantConfig&, const OnboardReport&) noexcept override {}
  void export_to(const TenantContext& tenant, ExportManifest& manifest) override {
    with_tenant(tenant, [&](auto scope) {
      write_export_file(manifest, "usage.json", scope.release(platform_.meter().to_json(scope), "export.usage").dump(2));
    });
  }
};

// The audit log is evidence: exported with checkpoints and proofs, verified before first use,
// never erased (after crypto-shredding only hashes and clear system records stay readable).
class AuditLayer final : public PlatformLayer {
 public:
  using PlatformLayer::PlatformLayer;
  std::string_view name() const noexcept override { return "audit"; }
  void rollback(const TenantContext&, const TenantConfig&, const OnboardReport&) noexcept override {}
  void export_to(const TenantContext& tenant, ExportManifest& manifest) override {
    with_tenant(tenant, [&](auto scope) {
      const auto path = manifest.directory / "audit.bundle.jsonl";
      std::error_code ec;
      std::filesystem::remove(path, ec);
      audit::FileSink sink(path);
      auto checkpoint = scope.view(platform_.audit().export_bundle(scope, sink));
      manifest.files["audit.bundle.jsonl"] = sha256_hex(tenantai::detail::read_file(path));
      manifest.audit_size = checkpoint.size;
      manifest.audit_checkpoint = checkpoint.note;
    });
  }
  void verify(const TenantContext& tenant) override {
    // Opening the log verifies it against its signed checkpoint.
    with_tenant(tenant, [&](auto scope) { (void)platform_.audit().size(scope); });
  }
};

}  // namespace

std::vector<std::shared_ptr<TenantLayer>> builtin_layers(Platform& platform) {
  return {std::make_shared<KeyLayer>(platform),       std::make_shared<RateLimitLayer>(platform),
          std::make_shared<BudgetLayer>(platform),    std::make_shared<RoutingLayer>(platform),
          std::make_shared<PromptLayer>(platform),
          std::make_shared<CacheLayer>(platform),     std::make_shared<ToolLayer>(platform),
          std::make_shared<ApiKeyLayer>(platform),    std::make_shared<DocumentLayer>(platform),
          std::make_shared<MemoryLayer>(platform),    std::make_shared<UsageLayer>(platform),
          std::make_shared<AuditLayer>(platform)};
}

}  // namespace detail
}  // namespace tenantai::pipeline
