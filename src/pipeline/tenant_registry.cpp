#include "tenantai/pipeline/tenant_registry.h"

#include <sodium.h>

#include <chrono>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/durable_file.h"
#include "tenantai/audit/checkpoint.h"
#include "tenantai/audit/event.h"
#include "tenantai/audit/sink.h"
#include "tenantai/core/authenticator.h"
#include "tenantai/memory/memory_store.h"
#include "tenantai/pipeline/pipeline.h"
#include "tenantai/pipeline/search_documents_tool.h"

namespace tenantai::pipeline {

// Ed25519 key that signs erasure receipts, kept at <data_dir>/keys/receipt-signer.key (0600).
struct TenantRegistry::ReceiptSigner {
  unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
  unsigned char* secret_key = nullptr;  // sodium_malloc'ed

  explicit ReceiptSigner(const std::filesystem::path& path) {
    secret_key = static_cast<unsigned char*>(sodium_malloc(crypto_sign_SECRETKEYBYTES));
    if (secret_key == nullptr) throw Error(ErrorCode::CryptoFailure, "cannot allocate the receipt signing key");
    try {
      if (std::filesystem::exists(path)) {
        std::string seed = tenantai::detail::read_file(path);
        if (seed.size() != crypto_sign_SEEDBYTES) {
          throw Error(ErrorCode::StorageFailure, fmt::format("receipt signing key {} is malformed ({} bytes, want {})",
                                                             path.string(), seed.size(), crypto_sign_SEEDBYTES));
        }
        crypto_sign_seed_keypair(public_key, secret_key, reinterpret_cast<const unsigned char*>(seed.data()));
        sodium_memzero(seed.data(), seed.size());
      } else {
        std::string seed(crypto_sign_SEEDBYTES, '\0');
        randombytes_buf(seed.data(), seed.size());
        crypto_sign_seed_keypair(public_key, secret_key, reinterpret_cast<const unsigned char*>(seed.data()));
        tenantai::detail::write_file_atomic(path, seed, 0600);
        sodium_memzero(seed.data(), seed.size());
      }
    } catch (...) {
      sodium_free(secret_key);
      throw;
    }
  }
  ~ReceiptSigner() { sodium_free(secret_key); }
  ReceiptSigner(const ReceiptSigner&) = delete;
  ReceiptSigner& operator=(const ReceiptSigner&) = delete;

  std::string sign(std::string_view message) const {
    unsigned char signature[crypto_sign_BYTES];
    crypto_sign_detached(signature, nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                         secret_key);
    return audit::to_base64(signature, sizeof signature);
  }
  std::string verifier_key() const { return audit::to_base64(public_key, sizeof public_key); }
};

bool verify_erasure_receipt(const ErasureReceipt& receipt) {
  auto key = audit::from_base64(receipt.verifier_key);
  auto signature = audit::from_base64(receipt.signature);
  if (!key || !signature || key->size() != crypto_sign_PUBLICKEYBYTES || signature->size() != crypto_sign_BYTES) {
    return false;
  }
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature->data()),
                                     reinterpret_cast<const unsigned char*>(receipt.json.data()), receipt.json.size(),
                                     reinterpret_cast<const unsigned char*>(key->data())) == 0;
}

namespace {

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

// Writes `content` to directory/name durably (temp file, fsync, rename); returns its hex SHA-256.
std::string write_file(const std::filesystem::path& directory, const std::string& name, const std::string& content) {
  tenantai::detail::write_file_atomic(directory / name, content, 0600);
  return sha256_hex(content);
}

}  // namespace

TenantRegistry::TenantRegistry(Platform& platform)
    : platform_(platform),
      signer_(std::make_unique<ReceiptSigner>(platform.options().data_dir / "keys" / "receipt-signer.key")) {}

TenantRegistry::~TenantRegistry() = default;

std::string TenantRegistry::receipt_verifier_key() const { return signer_->verifier_key(); }

void TenantRegistry::require(const TenantContext& context, std::string_view capability) {
  if (!context.has_capability(capability)) {
    throw Error(ErrorCode::PermissionDenied, fmt::format("actor '{}' lacks capability '{}'",
                                                         escape_for_message(context.actor()), capability));
  }
}

TenantContext TenantRegistry::service_context(const TenantId& tenant, const TenantContext& requester) const {
  if (requester.tenant() != tenant) {
    throw Error(ErrorCode::IsolationViolation, "a registry operation named a tenant other than the requester's");
  }
  return platform_.service_context(requester);
}

std::mutex& TenantRegistry::lifecycle_mutex(const TenantId& tenant) {
  std::lock_guard lock(mutexes_guard_);
  auto& slot = lifecycle_mutexes_[tenant];
  if (!slot) slot = std::make_unique<std::mutex>();
  return *slot;
}

OnboardReport TenantRegistry::onboard(SystemScope& system, const TenantConfig& config) {
  std::lock_guard lifecycle(lifecycle_mutex(config.id));
  if (platform_.tenant_config(config.id)) {
    throw Error(ErrorCode::AlreadyExists, fmt::format("tenant '{}' is already provisioned", config.id.str()));
  }
  auto base_tier = platform_.tiers().find_tier(config.tier);
  if (!base_tier) throw base_tier.error();
  if (!platform_.prices().find(config.models.model)) {
    throw Error(ErrorCode::InvalidArgument, fmt::format("tenant '{}' names unknown model '{}'", config.id.str(),
                                                        escape_for_message(config.models.model)));
  }
  OnboardReport report{config.id, {}, {}, {}, 0, {}};
  try {
    return onboard_visit(system, config, **base_tier, report);
  } catch (const Error& e) {
    // The visit itself could not be recorded: the tenant's audit log on disk failed
    // verification. The tenant is provisioned quarantined (its keys answer TenantUnavailable
    // with the reason); nothing of its data is touched, and every other tenant onboards.
    if ((e.code() != ErrorCode::Tampered && e.code() != ErrorCode::StorageFailure) || platform_.tenant_config(config.id)) {
      throw;
    }
    return onboard_quarantined(config, e);
  }
}

OnboardReport TenantRegistry::onboard_quarantined(const TenantConfig& config, const Error& reason) {
  OnboardReport report{config.id, {}, {}, {}, 0, reason.message()};
  platform_.set_tenant_config(config.id, std::make_shared<const TenantConfig>(config));
  platform_.quarantine(config.id, reason);
  for (const auto& key : config.api_keys) {
    if (key.secret.empty()) continue;  // nothing to issue a new key for while quarantined
    Principal principal{config.id, key.actor, key.groups, key.capabilities};
    report.key_ids.push_back(platform_.authenticator().add(key.secret, std::move(principal)));
  }
  return report;
}

OnboardReport TenantRegistry::onboard_visit(SystemScope& system, const TenantConfig& config,
                                            const metering::TierPolicy& base_tier, OnboardReport& report) {
  return system.visit(config.id, [&](auto scope) {
    if (platform_.key_provider().destroyed(scope.context())) {
      throw Error(ErrorCode::AlreadyExists,
                  fmt::format("tenant id '{}' was offboarded and its key destroyed; tenant ids are never reused",
                              config.id.str()));
    }
    try {
      // First: the layers below size their per-tenant partitions from the config (cache quotas).
      platform_.set_tenant_config(config.id, std::make_shared<const TenantConfig>(config));
      // Tier with the tenant's own quotas (its own policy, so one tenant's limits never move another's).
      metering::TierPolicy policy = base_tier;
      policy.name = "tenant/" + config.id.str();
      policy.weight = base_tier.weight * std::max<std::uint32_t>(config.scheduler_weight, 1);
      policy.requests_per_minute = config.quotas.requests_per_minute;
      policy.tokens_per_minute = config.quotas.tokens_per_minute;
      policy.request_burst = 0;  // = the tenant's own per-minute limits, not the base tier's bursts
      policy.token_burst = 0;
      policy.max_queued = std::max<std::uint32_t>(config.quotas.queue_limit, 1);
      platform_.tiers().define(policy);
      if (auto assigned = platform_.tiers().assign(scope, policy.name); !assigned) throw assigned.error();

      metering::BudgetPolicy budget;
      budget.tenant.daily = config.budgets.daily;
      budget.tenant.monthly = config.budgets.monthly;
      if (auto set = platform_.budgets().set_policy(scope, budget); !set) throw set.error();

      inference::TenantRouting routing;
      routing.preferred_model = config.models.model;
      routing.max_cost_tier = 100;
      for (const auto& adapter : config.models.adapters) {
        platform_.router().register_adapter(scope, {adapter, config.models.model});
        report.adapters.push_back(adapter);
      }
      routing.default_adapter = config.models.default_adapter;
      platform_.router().configure(scope, routing);

      if (!config.prompt_overlay.empty()) {
        prompt::Overlay overlay;
        overlay.base = Platform::kAnswerTemplate;
        overlay.base_version = platform_.prompts().latest_version(Platform::kAnswerTemplate);
        overlay.slots = config.prompt_overlay;
        report.overlay_version = platform_.prompts().set_overlay(scope, overlay);
      }
      platform_.response_cache().set_opt_out(scope, config.cache_opt_out);
      platform_.semantic_cache().set_opt_out(scope, config.cache_opt_out);
      platform_.tools().add(scope, std::make_shared<SearchDocumentsTool>(platform_));
      for (const auto& key : config.api_keys) {
        Principal principal{config.id, key.actor, key.groups, key.capabilities};
        if (key.secret.empty()) {
          auto issued = platform_.authenticator().issue(std::move(principal));
          report.key_ids.push_back(issued.key_id);
          report.issued_secrets[key.actor] = issued.secret;
        } else {
          report.key_ids.push_back(platform_.authenticator().add(key.secret, std::move(principal)));
        }
      }
      audit::AuditEvent event;
      event.operation = audit::Operation::Write;
      event.target = "tenant";
      event.detail = fmt::format("onboarded tier={} model={} keys={}", config.tier, config.models.model,
                                 report.key_ids.size());
      try {
        platform_.audit().append(scope, std::move(event));
        platform_.audit().sync(scope);
      } catch (const Error& e) {
        // The tenant's existing log failed verification (a restart onto damaged state): the
        // tenant stays provisioned but quarantined, so its requests get TenantUnavailable with
        // the reason while every other tenant starts and serves.
        if (e.code() != ErrorCode::Tampered && e.code() != ErrorCode::StorageFailure) throw;
        platform_.quarantine(config.id, e);
        report.quarantined = e.message();
      }
      return report;
    } catch (...) {
      // Nothing half-provisioned: undo every layer that may have been touched.
      for (const auto& key_id : report.key_ids) (void)platform_.authenticator().revoke(key_id);
      platform_.forget_tenant_config(config.id);
      platform_.tiers().unassign(scope);
      (void)platform_.budgets().set_policy(scope, metering::BudgetPolicy{});
      platform_.response_cache().set_opt_out(scope, false);
      platform_.semantic_cache().set_opt_out(scope, false);
      platform_.router().erase_tenant(scope);
      platform_.prompts().erase_tenant(scope);
      platform_.tools().erase_tenant(scope);
      throw;
    }
  });
}

ExportManifest TenantRegistry::export_impl(const TenantContext& context, const std::filesystem::path& directory) {
  auto config = platform_.tenant_config(context.tenant());
  if (!config) throw config.error();
  const auto service = service_context(context.tenant(), context);
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) throw Error(ErrorCode::StorageFailure, fmt::format("cannot create {}: {}", directory.string(), ec.message()));
  ExportManifest manifest{context.tenant(), directory, {}, 0, {}};
  return with_tenant(service, [&](auto scope) {
    std::string documents;
    const auto all_documents = platform_.documents().all(scope);
    for (const auto& doc : scope.view(all_documents)) {
      documents += nlohmann::json{{"id", doc.id}, {"title", doc.title}, {"text", doc.text}, {"acl_groups", doc.acl_groups}}.dump();
      documents += '\n';
    }
    manifest.files["documents.jsonl"] = write_file(directory, "documents.jsonl", documents);
    manifest.files["memory.jsonl"] =
        write_file(directory, "memory.jsonl", scope.release(platform_.memory().export_jsonl(scope), "export.memory"));
    manifest.files["usage.json"] =
        write_file(directory, "usage.json", scope.release(platform_.meter().to_json(scope), "export.usage").dump(2));
    const auto bundle_path = directory / "audit.bundle.jsonl";
    std::filesystem::remove(bundle_path, ec);
    audit::FileSink sink(bundle_path);
    auto checkpoint = scope.view(platform_.audit().export_bundle(scope, sink));
    manifest.files["audit.bundle.jsonl"] = sha256_hex(tenantai::detail::read_file(bundle_path));
    manifest.audit_size = checkpoint.size;
    manifest.audit_checkpoint = checkpoint.note;
    nlohmann::json json{{"tenant", context.tenant().str()},
                        {"exported_at", utc_now()},
                        {"requested_by", context.actor()},
                        {"files", manifest.files},
                        {"audit_size", manifest.audit_size},
                        {"audit_checkpoint", manifest.audit_checkpoint},
                        {"audit_verifier_key", platform_.audit_verifier_key()}};
    write_file(directory, "manifest.json", json.dump(2));
    return manifest;
  });
}

ErasureReceipt TenantRegistry::offboard_impl(const TenantContext& context, const std::filesystem::path& export_directory) {
  std::lock_guard lifecycle(lifecycle_mutex(context.tenant()));
  auto manifest = export_impl(context, export_directory);
  const auto service = service_context(context.tenant(), context);
  // From here on the tenant's requests fail closed: no config, no keys.
  platform_.forget_tenant_config(context.tenant());
  std::uint64_t keys_revoked = 0;
  for (const auto& key : platform_.authenticator().keys_of(context.tenant())) {
    if (!key.revoked && platform_.authenticator().revoke(key.key_id)) ++keys_revoked;
  }
  nlohmann::json layers;
  std::string final_checkpoint;
  std::uint64_t audit_size = 0;
  with_tenant(service, [&](auto scope) {
    const auto vector_stats = scope.view(platform_.vectors().stats(scope));
    layers["vectors"] = vector_stats.documents;
    platform_.vectors().drop_tenant(scope);
    layers["documents"] = platform_.documents().erase_tenant(scope);
    layers["corpus"] = platform_.corpus().erase_tenant(scope);
    layers["response_cache"] = platform_.response_cache().flush(scope);
    platform_.response_cache().set_opt_out(scope, true);
    layers["semantic_cache"] = platform_.semantic_cache().flush(scope);
    platform_.semantic_cache().set_opt_out(scope, true);
    layers["embedding_cache"] = platform_.embedding_cache().flush(scope);
    platform_.memory().erase_tenant(scope);
    layers["memory"] = "database file removed";
    layers["prompt_overlays"] = platform_.prompts().erase_tenant(scope);
    layers["adapters"] = platform_.router().erase_tenant(scope);
    layers["tools"] = platform_.tools().erase_tenant(scope);
    layers["api_keys_revoked"] = keys_revoked;
    audit::AuditEvent event;
    event.operation = audit::Operation::Erase;
    event.target = "tenant";
    event.detail = "offboarded: " + layers.dump();
    platform_.audit().append(scope, std::move(event));
    auto checkpoint = scope.view(platform_.audit().checkpoint(scope));
    final_checkpoint = checkpoint.note;
    audit_size = checkpoint.size;
  });
  // Crypto-shredding last: the erase event above is still sealed with the tenant's key.
  platform_.sealer().destroy(service);
  layers["tenant_key"] = "destroyed";
  nlohmann::json body{{"type", "tenantai.erasure-receipt/v1"},
                      {"tenant", context.tenant().str()},
                      {"requested_by", context.actor()},
                      {"erased_at", utc_now()},
                      {"layers", layers},
                      {"export", {{"directory", export_directory.string()}, {"files", manifest.files}}},
                      {"audit", {{"size", audit_size}, {"checkpoint", final_checkpoint},
                                 {"verifier_key", platform_.audit_verifier_key()}}}};
  ErasureReceipt receipt;
  receipt.json = body.dump();
  receipt.signature = signer_->sign(receipt.json);
  receipt.verifier_key = signer_->verifier_key();
  write_file(export_directory, "erasure-receipt.json",
             nlohmann::json{{"receipt", body}, {"signature", receipt.signature}, {"verifier_key", receipt.verifier_key}}.dump(2));
  return receipt;
}

ErasureReceipt TenantRegistry::offboard(SystemScope& system, const TenantId& tenant,
                                        const std::filesystem::path& export_directory) {
  return system.visit(tenant, [&](auto scope) {
    return offboard_impl(service_context(tenant, scope.context()), export_directory);
  });
}

}  // namespace tenantai::pipeline
