#include "tenantai/pipeline/tenant_registry.h"

#include <sodium.h>

#include <chrono>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/durable_file.h"
#include "crypto/key_file_format.h"
#include "tenantai/audit/checkpoint.h"
#include "tenantai/audit/event.h"
#include "tenantai/audit/sink.h"
#include "tenantai/core/api_key_authenticator.h"
#include "tenantai/memory/memory_store.h"
#include "tenantai/pipeline/pipeline.h"
#include "tenantai/pipeline/platform.h"
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
        std::string seed = read_seed(path);
        crypto_sign_seed_keypair(public_key, secret_key, reinterpret_cast<const unsigned char*>(seed.data()));
        sodium_memzero(seed.data(), seed.size());
      } else {
        std::string seed(crypto_sign_SEEDBYTES, '\0');
        randombytes_buf(seed.data(), seed.size());
        crypto_sign_seed_keypair(public_key, secret_key, reinterpret_cast<const unsigned char*>(seed.data()));
        std::string file = crypto::detail::key_file_header(crypto::detail::kSigningKeyMagic,
                                                           crypto::detail::kSigningKeyVersion,
                                                           crypto::detail::signing_key_fields()) +
                           audit::to_base64(reinterpret_cast<const unsigned char*>(seed.data()), seed.size()) + "\n";
        tenantai::detail::write_file_atomic(path, file, 0600);
        sodium_memzero(file.data(), file.size());
        sodium_memzero(seed.data(), seed.size());
      }
    } catch (...) {
      sodium_free(secret_key);
      throw;
    }
  }
  ~ReceiptSigner() { sodium_free(secret_key); }

  // The 32-byte seed in `path`: version 1 (header line + base64 seed line) or version 0 (the
  // 32 raw bytes of the previous release). StorageFailure naming the file otherwise.
  static std::string read_seed(const std::filesystem::path& path) {
    std::string file = tenantai::detail::read_file(path);
    const auto text = crypto::detail::parse_key_file(path, file, crypto::detail::kSigningKeyMagic,
                                                     crypto::detail::kSigningKeyVersion,
                                                     crypto::detail::signing_key_fields());
    std::string seed = text.body;
    if (text.version != 0) {
      std::string line = text.body.substr(0, text.body.find('\n'));
      auto decoded = audit::from_base64(line);
      sodium_memzero(line.data(), line.size());
      seed = decoded ? *decoded : std::string();
    }
    sodium_memzero(file.data(), file.size());
    if (seed.size() != crypto_sign_SEEDBYTES) {
      throw Error(ErrorCode::StorageFailure, fmt::format("receipt signing key {} is malformed ({} seed bytes, want {})",
                                                         path.string(), seed.size(), crypto_sign_SEEDBYTES));
    }
    return seed;
  }
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

std::string utc_now(const TimeSource& clock) {
  const auto now = clock.wall();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

}  // namespace

RegistryLayers registry_layers(Platform& platform) {
  return {platform,
          platform.layers(),
          platform.tiers(),
          platform.prices(),
          platform.api_keys(),
          platform.key_provider(),
          platform.sealer(),
          platform.audit(),
          platform.clock(),
          [&platform](const TenantId& tenant) { return platform.audit_verifier_key(tenant); },
          platform.options().data_dir / "keys" / "receipt-signer.key"};
}

TenantRegistry::TenantRegistry(RegistryLayers layers)
    : layers_(std::move(layers)), signer_(std::make_unique<ReceiptSigner>(layers_.receipt_signing_key)) {}

TenantRegistry::TenantRegistry(Platform& platform) : TenantRegistry(registry_layers(platform)) {}

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
  return layers_.tenants.service_context(requester);
}

std::mutex& TenantRegistry::lifecycle_mutex(const TenantId& tenant) {
  std::lock_guard lock(mutexes_guard_);
  auto& slot = lifecycle_mutexes_[tenant];
  if (!slot) slot = std::make_unique<std::mutex>();
  return *slot;
}

OnboardReport TenantRegistry::onboard(SystemScope& system, const TenantConfig& config) {
  std::lock_guard lifecycle(lifecycle_mutex(config.id));
  if (layers_.tenants.tenant_config(config.id)) {
    throw Error(ErrorCode::AlreadyExists, fmt::format("tenant '{}' is already provisioned", config.id.str()));
  }
  auto base_tier = layers_.tiers.find_tier(config.tier);
  if (!base_tier) throw base_tier.error();
  if (!layers_.prices.find(config.models.model)) {
    throw Error(ErrorCode::InvalidArgument, fmt::format("tenant '{}' names unknown model '{}'", config.id.str(),
                                                        escape_for_message(config.models.model)));
  }
  OnboardReport report{config.id, {}, {}, {}, 0, {}};
  try {
    return onboard_visit(system, config, report);
  } catch (const Error& e) {
    // The visit itself could not be recorded: the tenant's audit log on disk failed
    // verification. The tenant is provisioned quarantined (its keys answer TenantUnavailable
    // with the reason); nothing of its data is touched, and every other tenant onboards.
    if ((e.code() != ErrorCode::Tampered && e.code() != ErrorCode::StorageFailure) || layers_.tenants.tenant_config(config.id)) {
      throw;
    }
    return onboard_quarantined(config, e);
  }
}

OnboardReport TenantRegistry::onboard_quarantined(const TenantConfig& config, const Error& reason) {
  OnboardReport report{config.id, {}, {}, {}, 0, reason.message()};
  layers_.tenants.set_tenant_config(config.id, std::make_shared<const TenantConfig>(config));
  layers_.tenants.quarantine(config.id, reason);
  for (const auto& key : config.api_keys) {
    if (key.secret.empty()) continue;  // nothing to issue a new key for while quarantined
    Principal principal{config.id, key.actor, key.groups, key.capabilities};
    report.key_ids.push_back(layers_.api_keys.add(key.secret, std::move(principal)));
  }
  return report;
}

OnboardReport TenantRegistry::onboard_visit(SystemScope& system, const TenantConfig& config, OnboardReport& report) {
  return system.visit(config.id, [&](auto scope) {
    if (layers_.key_provider.destroyed(scope.context())) {
      throw Error(ErrorCode::AlreadyExists,
                  fmt::format("tenant id '{}' was offboarded and its key destroyed; tenant ids are never reused",
                              config.id.str()));
    }
    const TenantContext service = layers_.tenants.service_context(scope.context());
    provision_layers(service, config, report);
    try {
      record_onboarding(service, config, report);
    } catch (...) {
      rollback_layers(service, config, report, layers_.layers.size());
      throw;
    }
    return report;
  });
}

// The config first (the layers size their per-tenant partitions from it), then every layer in
// order; a failure undoes the config and every layer provisioned so far, newest first.
void TenantRegistry::provision_layers(const TenantContext& tenant, const TenantConfig& config, OnboardReport& report) {
  layers_.tenants.set_tenant_config(config.id, std::make_shared<const TenantConfig>(config));
  const auto& layers = layers_.layers;
  std::size_t provisioned = 0;
  try {
    for (; provisioned < layers.size(); ++provisioned) layers[provisioned]->provision(tenant, config, report);
  } catch (...) {
    rollback_layers(tenant, config, report, std::min(provisioned + 1, layers.size()));
    throw;
  }
}

// Undoes the first `count` layers (the failed one included: it undoes as far as it got), newest
// first, then forgets the config: nothing is left half-provisioned.
void TenantRegistry::rollback_layers(const TenantContext& tenant, const TenantConfig& config,
                                     const OnboardReport& report, std::size_t count) {
  const auto& layers = layers_.layers;
  for (std::size_t i = count; i-- > 0;) layers[i]->rollback(tenant, config, report);
  layers_.tenants.forget_tenant_config(config.id);
}

// The onboarding event, durable before onboard() returns. A log that fails verification here (a
// restart onto damaged state) leaves the tenant provisioned but quarantined: its requests get
// TenantUnavailable with the reason while every other tenant starts and serves.
void TenantRegistry::record_onboarding(const TenantContext& tenant, const TenantConfig& config, OnboardReport& report) {
  with_tenant(tenant, [&](auto scope) {
    audit::AuditEvent event;
    event.operation = audit::Operation::Write;
    event.target = "tenant";
    event.detail =
        fmt::format("onboarded tier={} model={} keys={}", config.tier, config.models.model, report.key_ids.size());
    try {
      layers_.audit.append(scope, std::move(event));
      layers_.audit.sync(scope);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::Tampered && e.code() != ErrorCode::StorageFailure) throw;
      layers_.tenants.quarantine(config.id, e);
      report.quarantined = e.message();
    }
  });
}

ExportManifest TenantRegistry::export_impl(const TenantContext& context, const std::filesystem::path& directory) {
  auto config = layers_.tenants.tenant_config(context.tenant());
  if (!config) throw config.error();
  const auto service = service_context(context.tenant(), context);
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) throw Error(ErrorCode::StorageFailure, fmt::format("cannot create {}: {}", directory.string(), ec.message()));
  ExportManifest manifest{context.tenant(), directory, {}, 0, {}};
  for (const auto& layer : layers_.layers) layer->export_to(service, manifest);
  nlohmann::json json{{"tenant", context.tenant().str()},
                      {"exported_at", utc_now(layers_.clock)},
                      {"requested_by", context.actor()},
                      {"files", manifest.files},
                      {"audit_size", manifest.audit_size},
                      {"audit_checkpoint", manifest.audit_checkpoint},
                      {"audit_verifier_key", layers_.audit_verifier_key(context.tenant())}};
  tenantai::detail::write_file_atomic(directory / "manifest.json", json.dump(2), 0600);
  return manifest;
}

ErasureReceipt TenantRegistry::offboard_impl(const TenantContext& context, const std::filesystem::path& export_directory) {
  std::lock_guard lifecycle(lifecycle_mutex(context.tenant()));
  auto manifest = export_impl(context, export_directory);
  const auto service = service_context(context.tenant(), context);
  // From here on the tenant's requests fail closed (no config), before anything is erased.
  layers_.tenants.forget_tenant_config(context.tenant());
  ErasureSummary summary;
  const auto& layers = layers_.layers;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) (*it)->erase(service, summary);
  nlohmann::json layers_json = nlohmann::json::object();
  for (const auto& [name, value] : summary.items) {
    std::visit([&, &name = name](const auto& v) { layers_json[name] = v; }, value);
  }
  std::string final_checkpoint;
  std::uint64_t audit_size = 0;
  with_tenant(service, [&](auto scope) {
    audit::AuditEvent event;
    event.operation = audit::Operation::Erase;
    event.target = "tenant";
    event.detail = "offboarded: " + layers_json.dump();
    layers_.audit.append(scope, std::move(event));
    auto checkpoint = scope.view(layers_.audit.checkpoint(scope));
    final_checkpoint = checkpoint.note;
    audit_size = checkpoint.size;
  });
  nlohmann::json& layers_out = layers_json;
  // Crypto-shredding last: the erase event above is still sealed with the tenant's key.
  layers_.sealer.destroy(service);
  layers_out["tenant_key"] = "destroyed";
  nlohmann::json body{{"type", "tenantai.erasure-receipt/v1"},
                      {"tenant", context.tenant().str()},
                      {"requested_by", context.actor()},
                      {"erased_at", utc_now(layers_.clock)},
                      {"layers", layers_out},
                      {"export", {{"directory", export_directory.string()}, {"files", manifest.files}}},
                      {"audit", {{"size", audit_size}, {"checkpoint", final_checkpoint},
                                 {"verifier_key", layers_.audit_verifier_key(context.tenant())}}}};
  ErasureReceipt receipt;
  receipt.json = body.dump();
  receipt.signature = signer_->sign(receipt.json);
  receipt.verifier_key = signer_->verifier_key();
  tenantai::detail::write_file_atomic(
      export_directory / "erasure-receipt.json",
      nlohmann::json{{"receipt", body}, {"signature", receipt.signature}, {"verifier_key", receipt.verifier_key}}.dump(2),
      0600);
  return receipt;
}

ErasureReceipt TenantRegistry::offboard(SystemScope& system, const TenantId& tenant,
                                        const std::filesystem::path& export_directory) {
  return system.visit(tenant, [&](auto scope) {
    return offboard_impl(service_context(tenant, scope.context()), export_directory);
  });
}

}  // namespace tenantai::pipeline
