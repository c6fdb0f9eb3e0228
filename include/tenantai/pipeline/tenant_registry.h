// TenantRegistry: the tenant lifecycle over a list of TenantLayers (a platform's: Platform::layers()).
// Onboarding provisions every layer from one TenantConfig in one call (a failure rolls the
// layers back in reverse order); offboarding exports everything the tenant owns, erases it from
// every layer, crypto-shreds its key and returns a signed erasure receipt. docs/offboarding.md
// states what remains afterwards and why.
#pragma once

#include <functional>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tenantai/core/scope.h"
#include "tenantai/core/system_scope.h"
#include "tenantai/audit/audit_log.h"
#include "tenantai/core/time_source.h"
#include "tenantai/crypto/envelope_sealer.h"
#include "tenantai/crypto/key_provider.h"
#include "tenantai/metering/price_table.h"
#include "tenantai/metering/tiers.h"
#include "tenantai/pipeline/tenant_config.h"
#include "tenantai/pipeline/tenant_directory.h"
#include "tenantai/pipeline/tenant_layer.h"

namespace tenantai {
class ApiKeyAuthenticator;  // tenantai/core/api_key_authenticator.h
}  // namespace tenantai

namespace tenantai::pipeline {

class Platform;

// What the tenant lifecycle works on, by reference: the platform's (registry_layers()), or a
// unit test's fakes. Whoever fills it keeps every part alive while the registry runs.
struct RegistryLayers {
  TenantDirectory& tenants;                                  // configs and quarantine
  const std::vector<std::shared_ptr<TenantLayer>>& layers;   // in provisioning order
  const metering::TenantTiers& tiers;                        // a config's tier must exist
  const metering::PriceTable& prices;                        // and its model
  ApiKeyAuthenticator& api_keys;                             // keys of a tenant onboarded quarantined
  crypto::KeyProvider& key_provider;                         // refuses a shredded tenant id
  crypto::EnvelopeSealer& sealer;                            // crypto-shredding at offboarding
  audit::AuditLog& audit;                                    // onboarding and erasure events
  const TimeSource& clock;                                   // manifest and receipt times
  std::function<std::string(const TenantId&)> audit_verifier_key;  // named in manifests and receipts
  std::filesystem::path receipt_signing_key;                 // loaded or created (mode 0600)
};

// The platform's own: its directory, layer list, tiers, prices, keys, sealer, audit log and
// clock; the receipt key at <data_dir>/keys/receipt-signer.key. Never throws except bad_alloc.
RegistryLayers registry_layers(Platform& platform);

// Proof of an offboarding, signed with the registry's Ed25519 key.
struct ErasureReceipt {
  std::string json;           // canonical JSON body: tenant, time, per-layer counts, export digests, final checkpoint
  std::string signature;      // base64 Ed25519 signature over `json`
  std::string verifier_key;   // base64 Ed25519 public key of the signer
};

// Checks a receipt's signature against `verifier_key` (base64). Never throws.
bool verify_erasure_receipt(const ErasureReceipt& receipt);

// Capability an actor needs to export or offboard its own tenant.
inline constexpr std::string_view kExportCapability = "admin:export";
inline constexpr std::string_view kOffboardCapability = "admin:offboard";

// Thread-safe. The layers (the platform's, or a test's) must outlive the registry. Onboarding and offboarding of one tenant
// are serialised; requests of a tenant being offboarded fail closed (NotFound) from the moment
// its config is forgotten, before any data is erased.
class TenantRegistry {
 public:
  // Loads or creates the receipt signing key at layers.receipt_signing_key (StorageFailure
  // naming it).
  explicit TenantRegistry(RegistryLayers layers);
  // On a platform's own layers (registry_layers(platform)).
  explicit TenantRegistry(Platform& platform);
  ~TenantRegistry();
  TenantRegistry(const TenantRegistry&) = delete;
  TenantRegistry& operator=(const TenantRegistry&) = delete;

  // Operator provisioning through a SystemScope (recorded in the new tenant's own audit log):
  // tier and quotas, budgets, routing and adapters, prompt overlay, cache opt-out, API keys.
  // AlreadyExists when the tenant is provisioned or its id was offboarded (shredded ids are never
  // reused); InvalidArgument (unknown tier or model,
  // adapter of another tenant, bad overlay) — nothing is left half-provisioned then.
  OnboardReport onboard(SystemScope& system, const TenantConfig& config);

  // Writes the tenant's export bundle into `directory` (created): documents.jsonl, memory.jsonl,
  // usage.json, audit.bundle.jsonl (with checkpoints and proofs) and manifest.json. The actor
  // needs capability "admin:export" (PermissionDenied). Audited as an Export event.
  template <typename Tag>
  Scoped<ExportManifest, Tag> export_tenant(const TenantScope<Tag>& scope, const std::filesystem::path& directory) {
    require(scope.context(), kExportCapability);
    return scope.bind(export_impl(scope.context(), directory));
  }

  // Offboarding requested by the tenant itself (capability "admin:offboard"): export into
  // `export_directory`, then erase from every layer and destroy the tenant's key.
  template <typename Tag>
  Scoped<ErasureReceipt, Tag> offboard(const TenantScope<Tag>& scope, const std::filesystem::path& export_directory) {
    require(scope.context(), kOffboardCapability);
    return scope.bind(offboard_impl(scope.context(), export_directory));
  }

  // Offboarding by the operator (contract end), through a SystemScope.
  ErasureReceipt offboard(SystemScope& system, const TenantId& tenant, const std::filesystem::path& export_directory);

  std::string receipt_verifier_key() const;

 private:
  struct ReceiptSigner;
  static void require(const TenantContext& context, std::string_view capability);
  OnboardReport onboard_visit(SystemScope& system, const TenantConfig& config, OnboardReport& report);
  void provision_layers(const TenantContext& tenant, const TenantConfig& config, OnboardReport& report);
  void rollback_layers(const TenantContext& tenant, const TenantConfig& config, const OnboardReport& report,
                       std::size_t count);
  void record_onboarding(const TenantContext& tenant, const TenantConfig& config, OnboardReport& report);
  OnboardReport onboard_quarantined(const TenantConfig& config, const Error& reason);
  TenantContext service_context(const TenantId& tenant, const TenantContext& requester) const;
  ExportManifest export_impl(const TenantContext& context, const std::filesystem::path& directory);
  ErasureReceipt offboard_impl(const TenantContext& context, const std::filesystem::path& export_directory);
  std::mutex& lifecycle_mutex(const TenantId& tenant);

  RegistryLayers layers_;
  std::unique_ptr<ReceiptSigner> signer_;
  std::mutex mutexes_guard_;
  std::map<TenantId, std::unique_ptr<std::mutex>> lifecycle_mutexes_;
};

}  // namespace tenantai::pipeline
