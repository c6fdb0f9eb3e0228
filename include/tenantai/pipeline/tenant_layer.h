// TenantLayer: one stateful layer's part in a tenant's lifecycle. The platform keeps the layers
// in one list (Platform::add_layer); TenantRegistry provisions them in list order, rolls a
// failed onboarding back in reverse order, exports in list order, erases in reverse order, and
// Platform::ensure_ready verifies each before a tenant's first request after a start. Adding a
// layer is one registration.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "tenantai/core/tenant_context.h"
#include "tenantai/pipeline/tenant_config.h"

namespace tenantai::pipeline {

// What onboarding did.
struct OnboardReport {
  TenantId tenant;
  std::vector<std::string> key_ids;   // API keys registered for the config's actors
  std::map<std::string, std::string> issued_secrets;  // actor → secret, for keys the config gave
                                                       // no secret for (returned once, store it)
  std::vector<std::string> adapters;  // adapters registered to the tenant
  std::uint32_t overlay_version = 0;  // prompt overlay version (0: none)
  std::string quarantined;            // non-empty: the tenant's state on disk failed verification
                                      // (this reason); it is provisioned but gets TenantUnavailable
};

// The files an export wrote (paths and their SHA-256), and the audit checkpoint it ends at.
struct ExportManifest {
  TenantId tenant;
  std::filesystem::path directory;
  std::map<std::string, std::string> files;  // file name → hex SHA-256
  std::uint64_t audit_size = 0;
  std::string audit_checkpoint;              // signed note text
};

// Writes `content` durably to manifest.directory/name (0600, temp file + fsync + rename) and
// records its SHA-256 in the manifest. StorageFailure naming the file.
void write_export_file(ExportManifest& manifest, const std::string& name, const std::string& content);

// What each layer erased, in erase order (a count, or a note such as "database file removed").
struct ErasureSummary {
  std::vector<std::pair<std::string, std::variant<std::uint64_t, std::string>>> items;
  void count(std::string name, std::uint64_t n) { items.emplace_back(std::move(name), n); }
  void note(std::string name, std::string text) { items.emplace_back(std::move(name), std::move(text)); }
};

// Every call gets a usable context of the tenant (the platform's service principal for that
// tenant) and runs inside the tenant's lifecycle lock, so calls for one tenant never overlap;
// calls for different tenants may run concurrently (implementations must be thread-safe).
class TenantLayer {
 public:
  virtual ~TenantLayer() = default;

  // A short stable name ("corpus", "memory", ...) used in receipts and error messages.
  virtual std::string_view name() const noexcept = 0;
  // Sets the tenant up from its config; may add to `report`. Throws on failure, after which
  // rollback() of this layer and of every layer provisioned before it runs (reverse order).
  virtual void provision(const TenantContext& tenant, const TenantConfig& config, OnboardReport& report) = 0;
  // Undoes provision() as far as it got (and nothing of other tenants). Must not throw.
  virtual void rollback(const TenantContext& tenant, const TenantConfig& config, const OnboardReport& report) noexcept = 0;
  // Adds this layer's part of the tenant's export (write_export_file); may add nothing.
  virtual void export_to(const TenantContext& tenant, ExportManifest& manifest) = 0;
  // Erases everything of the tenant this layer holds and notes what (counts, not contents).
  virtual void erase(const TenantContext& tenant, ErasureSummary& summary) = 0;
  // Checks the tenant's state in this layer and loads what the layer serves from memory, before
  // the tenant's first request after a start. Throws on damage (the tenant is then quarantined).
  virtual void verify(const TenantContext& tenant) = 0;
};

}  // namespace tenantai::pipeline
