// restore_backup: verify, check for rollbacks, move replaced files aside, copy, record.
#include <sodium.h>

#include <tenantai/core/error.h>
#include <tenantai/core/tenant_id.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <set>

#include "audit_state.h"
#include "backup.h"
#include "core/data_dir_lock.h"
#include "core/durable_file.h"
#include "file_copy.h"
#include "layout.h"

namespace tenantai::backup {

namespace fs = std::filesystem;

namespace {

// What a restore will do, decided before anything is written.
struct RestorePlan {
  std::optional<std::string> tenant;     // one-tenant restore
  std::vector<ManifestFile> to_write;    // backup files copied into the data_dir
  std::vector<std::string> to_displace;  // data_dir files moved aside first
  std::set<std::string> to_check;        // tenants whose audit log must not roll back
  std::set<std::string> restored_tenants;
};

bool is_tenant_file(const std::string& relative, const std::string& tenant) {
  const FileOwner owner = owner_of(relative);
  return owner.kind == FileOwner::Kind::Tenant && owner.tenant == tenant;
}

// A one-tenant restore adds the shared keys the data_dir lacks and refuses different ones:
// the tenant's keys only open under the master key they were wrapped with, and its log only
// verifies with the signer that signed it.
void plan_shared(const ManifestFile& f, const RestoreOptions& o, RestorePlan& plan) {
  const fs::path existing = o.data_dir / f.path;
  if (!fs::exists(existing)) {
    plan.to_write.push_back(f);
    return;
  }
  if (digest_file(existing).blake2b != f.blake2b) {
    throw Error(ErrorCode::InvalidArgument,
                "the backup comes from another deployment: its " + f.path + " differs from " + existing.string() +
                    " (a tenant's keys and audit log only work with the shared keys they were made with); restore "
                    "into an empty data_dir, or the whole data_dir");
  }
}

RestorePlan plan_restore(const Manifest& m, const RestoreOptions& o, const std::optional<std::string>& tenant) {
  RestorePlan plan;
  plan.tenant = tenant;
  const std::vector<std::string> existing = list_files(o.data_dir);
  for (const auto& f : m.files) {
    if (tenant) {
      if (f.owner == "shared") plan_shared(f, o, plan);
      if (f.owner == "tenant" && f.tenant == *tenant) plan.to_write.push_back(f);
    } else if (f.owner != "records" || !fs::exists(o.data_dir / f.path)) {
      plan.to_write.push_back(f);
    }
    if (f.owner == "tenant" && (!tenant || f.tenant == *tenant)) plan.restored_tenants.insert(f.tenant);
  }
  for (const auto& relative : existing) {
    const FileOwner owner = owner_of(relative);
    const bool mine = tenant ? is_tenant_file(relative, *tenant) : owner.kind != FileOwner::Kind::Records;
    if (mine) plan.to_displace.push_back(relative);
    if (mine && owner.kind == FileOwner::Kind::Tenant && relative == audit_log_of(owner.tenant)) {
      plan.to_check.insert(owner.tenant);
    }
  }
  return plan;
}

std::vector<std::string> rollbacks_of(const Manifest& m, const RestoreOptions& o, const RestorePlan& plan) {
  std::vector<std::string> out;
  for (const auto& t : plan.to_check) {
    std::optional<fs::path> backup_log;
    for (const auto& f : m.files) {
      if (f.path == audit_log_of(t)) backup_log = o.from / kFilesDir / f.path;
    }
    if (auto reason = rollback_reason(o.data_dir, t, backup_log)) out.push_back(t + ": " + *reason);
  }
  return out;
}

fs::path new_record_dir(const fs::path& data_dir) {
  unsigned char tag[4];
  randombytes_buf(tag, sizeof tag);
  char hex[2 * sizeof tag + 1];
  sodium_bin2hex(hex, sizeof hex, tag, sizeof tag);
  std::string stamp = utc_now();
  std::erase(stamp, ':');
  std::erase(stamp, '-');
  const fs::path dir = data_dir / "restores" / (stamp + "-" + hex);
  fs::create_directories(dir);
  return dir;
}

void write_record(const fs::path& dir, const std::string& state, const Manifest& m, const RestoreOptions& o,
                  const RestoreReport& report, const std::string& error = {}) {
  nlohmann::json j{{"format", "tenantai-restore-record"},
                   {"version", 1},
                   {"state", state},
                   {"at", utc_now()},
                   {"backup", {{"from", fs::absolute(o.from).string()}, {"created_at", m.created_at}, {"scope", m.scope}}},
                   {"tenant", o.tenant.value_or(m.tenant)},
                   {"allow_rollback", o.allow_rollback},
                   {"rollbacks", report.rollbacks},
                   {"displaced", report.displaced},
                   {"restored", report.restored},
                   {"audit_events", report.audit_events}};
  if (!error.empty()) j["error"] = error;
  tenantai::detail::write_file_atomic(dir / "restore.json", j.dump(2) + "\n", 0600);
}

void displace(const fs::path& data_dir, const fs::path& record_dir, const std::string& relative) {
  const fs::path to = record_dir / "displaced" / relative;
  fs::create_directories(to.parent_path());
  std::error_code ec;
  fs::rename(data_dir / relative, to, ec);
  if (ec) throw Error(ErrorCode::StorageFailure, "cannot move " + (data_dir / relative).string() + " aside: " + ec.message());
}

void write_one(const RestoreOptions& o, const ManifestFile& f) {
  const fs::path target = o.data_dir / f.path;
  const fs::path temp = target.string() + ".tmp";
  std::error_code ec;
  fs::remove(temp, ec);
  const FileDigest digest = copy_file_hashed(o.from / kFilesDir / f.path, temp, f.mode);
  if (digest.blake2b != f.blake2b || digest.size != f.size) {
    fs::remove(temp, ec);
    throw Error(ErrorCode::Tampered, "backup file " + f.path + " changed during the restore");
  }
  fs::rename(temp, target, ec);
  if (ec) throw Error(ErrorCode::StorageFailure, "cannot move " + temp.string() + " into place: " + ec.message());
  sync_tree(target.parent_path(), o.data_dir);
}

std::optional<std::string> effective_tenant(const Manifest& m, const RestoreOptions& o) {
  std::optional<std::string> tenant = o.tenant;
  if (m.scope == "tenant") {
    if (tenant && *tenant != m.tenant) {
      throw Error(ErrorCode::InvalidArgument, "the backup holds only tenant \"" + m.tenant + "\", not \"" + *tenant + "\"");
    }
    tenant = m.tenant;
  }
  if (tenant) {
    (void)TenantId(*tenant);
    if (m.find_tenant(*tenant) == nullptr) {
      throw Error(ErrorCode::NotFound, "the backup holds no tenant \"" + *tenant + "\"");
    }
  }
  return tenant;
}

// Appends the restore event to each restored tenant's log; the details name the backup.
void record_audit_events(const Manifest& m, const RestoreOptions& o, const RestorePlan& plan, RestoreReport& report) {
  for (const auto& t : plan.restored_tenants) {
    if (!fs::exists(o.data_dir / audit_log_of(t))) continue;
    if (audit_verifier_keys_of(o.data_dir, t).empty()) continue;  // no signer: nothing can sign the event
    std::string rolled;
    for (const auto& r : report.rollbacks) {
      if (r.starts_with(t + ": ")) rolled = r.substr(t.size() + 2);
    }
    const std::string details = "backup of " + m.created_at + " restored; record restores/" +
                                report.record_dir.filename().string() + (rolled.empty() ? "" : "; rolled back: " + rolled);
    const auto index = record_restore_event(o.data_dir, t, details, !rolled.empty());
    report.audit_events.push_back(t + ": event " + std::to_string(index));
  }
}

}  // namespace

RestoreReport restore_backup(const RestoreOptions& o) {
  const Manifest m = verify_backup(o.from);  // nothing is written before the backup checks out
  const std::optional<std::string> tenant = effective_tenant(m, o);
  std::error_code ec;
  fs::create_directories(o.data_dir, ec);
  if (ec) throw Error(ErrorCode::StorageFailure, "cannot create data_dir " + o.data_dir.string() + ": " + ec.message());
  const detail::DataDirLock lock(o.data_dir);
  const RestorePlan plan = plan_restore(m, o, tenant);
  RestoreReport report;
  report.rollbacks = rollbacks_of(m, o, plan);
  if (!report.rollbacks.empty() && !o.allow_rollback) {
    std::string list;
    for (const auto& r : report.rollbacks) list += "\n  " + r;
    throw Error(ErrorCode::AlreadyExists, "restoring " + o.from.string() + " into " + o.data_dir.string() +
                                              " would roll back audit logs:" + list +
                                              "\nnothing was written; pass --allow-rollback to restore anyway "
                                              "(the rollback is then recorded)");
  }
  report.record_dir = new_record_dir(o.data_dir);
  write_record(report.record_dir, "started", m, o, report);
  for (const auto& relative : plan.to_displace) {
    displace(o.data_dir, report.record_dir, relative);
    report.displaced.push_back(relative);
  }
  for (const auto& f : plan.to_write) {
    write_one(o, f);
    report.restored.push_back(f.path);
  }
  try {
    record_audit_events(m, o, plan, report);
  } catch (const Error& e) {
    write_record(report.record_dir, "restored; audit event failed", m, o, report, e.what());
    throw;
  }
  write_record(report.record_dir, "completed", m, o, report);
  return report;
}

}  // namespace tenantai::backup
