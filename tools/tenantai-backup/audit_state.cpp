#include "audit_state.h"

#include <tenantai/audit/audit_log.h>
#include <tenantai/audit/checkpoint.h>
#include <tenantai/audit/recorders.h>
#include <tenantai/audit/verify.h>
#include <tenantai/core/system_scope.h>

#include <tenantai/crypto/local_key_provider.h>

#include "core/durable_file.h"
#include "pipeline/audit_signers.h"
#include "layout.h"

namespace tenantai::backup {

namespace fs = std::filesystem;

namespace {

fs::path signer_path(const fs::path& data_dir) { return data_dir / "keys" / "audit-signer.key"; }

std::vector<audit::CheckpointVerifier> verifiers_of(const std::vector<std::string>& keys) {
  std::vector<audit::CheckpointVerifier> out;
  for (const auto& key : keys) {
    auto verifier = audit::CheckpointVerifier::parse(key);
    if (!verifier) throw verifier.error();
    out.push_back(*verifier);
  }
  return out;
}

}  // namespace

std::string audit_verifier_key_of(const fs::path& data_dir) {
  if (!fs::exists(signer_path(data_dir))) return {};
  return audit::CheckpointSigner::load(signer_path(data_dir).string()).verifier_key();
}

std::vector<std::string> audit_verifier_keys_of(const fs::path& data_dir, const std::string& tenant) {
  std::vector<std::string> keys;
  auto own = pipeline::detail::AuditSigners::verifier_key_in(data_dir / "keys" / "audit-signers", TenantId(tenant));
  if (!own.empty()) keys.push_back(std::move(own));
  auto legacy = audit_verifier_key_of(data_dir);
  if (!legacy.empty()) keys.push_back(std::move(legacy));
  return keys;
}

namespace {

// The verified log of `tenant` under `audit_dir` (nullopt: no log file). A log file that is
// empty and has no checkpoint yet is an empty report.
std::optional<audit::VerifyReport> verified_log(const fs::path& audit_dir, const std::string& tenant,
                                                const std::vector<std::string>& verifier_keys) {
  const fs::path log = audit_dir / (tenant + ".log");
  if (!fs::exists(log)) return std::nullopt;
  if (verifier_keys.empty()) {
    throw Error(ErrorCode::NotFound, "tenant \"" + tenant + "\" has an audit log but the data_dir has no audit signer key");
  }
  audit::FileLogStorage storage(audit_dir);
  auto report = audit::verify_log(storage, TenantId(tenant), verifiers_of(verifier_keys));
  if (!report && report.error().code() == ErrorCode::NotFound && fs::file_size(log) == 0) return audit::VerifyReport{};
  if (!report) {
    throw Error(report.error().code(), "audit log of tenant \"" + tenant + "\" (" + log.string() +
                                           ") does not verify: " + report.error().message());
  }
  return std::move(report).value();
}

audit::Checkpoint empty_tree() {
  audit::Checkpoint cp;
  cp.root = audit::root_of(nullptr, 0);
  return cp;
}

}  // namespace

std::optional<AuditSignedState> signed_state(const fs::path& audit_dir, const std::string& tenant,
                                             const std::vector<std::string>& verifier_keys) {
  auto report = verified_log(audit_dir, tenant, verifier_keys);
  if (!report) return std::nullopt;
  const auto& root = report->latest.root;
  return AuditSignedState{report->latest.size, audit::to_base64(root.data(), root.size()), report->events};
}

std::optional<std::string> rollback_reason(const fs::path& target_dir, const std::string& tenant,
                                           const std::optional<fs::path>& backup_log) {
  std::optional<audit::VerifyReport> target;
  try {
    target = verified_log(target_dir / "audit", tenant, audit_verifier_keys_of(target_dir, tenant));
  } catch (const Error& e) {
    return "the data_dir's audit log cannot be verified, so what a restore over it would lose is unknown (" +
           e.message() + ")";
  }
  if (!target || target->events == 0) return std::nullopt;
  if (!backup_log) {
    return "the data_dir's audit log has " + std::to_string(target->events) + " records and the backup has none";
  }
  const std::string bytes = tenantai::detail::read_file(*backup_log);
  const audit::Checkpoint trusted = target->latest.size > 0 ? target->latest : empty_tree();
  auto prefix = audit::verify_log_bytes(bytes, TenantId(tenant), trusted);
  if (!prefix) {
    return "the data_dir's audit log has " + std::to_string(target->latest.size) +
           " signed records that the backup's log does not contain (an older backup, or a diverging log: " +
           prefix.error().message() + ")";
  }
  if (prefix->events < target->events) {
    return "the data_dir's audit log has " + std::to_string(target->events) + " records, the backup's only " +
           std::to_string(prefix->events);
  }
  return std::nullopt;
}

std::uint64_t record_restore_event(const fs::path& data_dir, const std::string& tenant, const std::string& details,
                                   bool rolled_back) {
  // The tenant's own signer, unsealed with the data_dir's key provider (the embedded profile's
  // LocalKeyProvider under keys/); the earlier single signer's checkpoints stay accepted.
  crypto::LocalKeyProvider keys(data_dir / "keys");
  pipeline::detail::AuditSigners signers(keys, data_dir / "keys" / "audit-signers");
  audit::AuditLogOptions options;
  options.signer_for = [&](const TenantId& id) { return signers.signer_for(id); };
  const auto legacy = audit_verifier_key_of(data_dir);
  if (!legacy.empty()) options.previous_verifier_keys.push_back(legacy);
  audit::AuditLog log(data_dir / "audit", std::move(options));
  audit::AuditAccessRecorder recorder(log);
  SystemScopeOptions scope_options;
  scope_options.ticket = details;
  const TenantId id(tenant);
  auto visit = [&](SystemScope& system) {
    return system.visit(id, [&](auto scope) {
      const auto cp = log.checkpoint(scope);
      return scope.view(cp).size - 1;  // the visit's own record is the last one signed
    });
  };
  if (rolled_back) {
    SystemScope system(recorder, "tenantai-backup", "restore from backup that rolled the audit log back (--allow-rollback)",
                       scope_options);
    return visit(system);
  }
  SystemScope system(recorder, "tenantai-backup", "restore from backup", scope_options);
  return visit(system);
}

}  // namespace tenantai::backup
