// create_backup and verify_backup.
#include <sys/stat.h>

#include <tenantai/core/error.h>
#include <tenantai/core/tenant_id.h>

#include <chrono>
#include <fmt/chrono.h>
#include <fmt/format.h>
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

const char* owner_name(FileOwner::Kind kind) {
  switch (kind) {
    case FileOwner::Kind::Shared: return "shared";
    case FileOwner::Kind::Tenant: return "tenant";
    case FileOwner::Kind::Records: return "records";
    case FileOwner::Kind::Other: return "other";
  }
  return "other";
}

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(ErrorCode::StorageFailure, "cannot stat " + path.string());
  return static_cast<unsigned>(st.st_mode) & 0777;
}

void require_empty_out(const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out, ec) && !(fs::is_directory(out, ec) && fs::is_empty(out, ec))) {
    throw Error(ErrorCode::AlreadyExists, "backup directory " + out.string() + " exists and is not empty");
  }
  fs::create_directories(out / kFilesDir, ec);
  if (ec) throw Error(ErrorCode::StorageFailure, "cannot create backup directory " + out.string() + ": " + ec.message());
}

// Copies one file into the backup and describes it.
ManifestFile copy_in(const fs::path& data_dir, const fs::path& out, const std::string& relative, const FileOwner& owner) {
  const fs::path source = data_dir / relative;
  ManifestFile f;
  f.path = relative;
  f.owner = owner_name(owner.kind);
  f.tenant = owner.tenant;
  f.mode = mode_of(source);
  const FileDigest digest = copy_file_hashed(source, out / kFilesDir / relative, f.mode);
  f.size = digest.size;
  f.blake2b = digest.blake2b;
  return f;
}

// Each tenant of the backup with its audit log's signed state, read from the copies.
std::vector<ManifestTenant> tenants_of(const Manifest& m, const fs::path& out) {
  std::set<std::string> ids;
  for (const auto& f : m.files) {
    if (f.owner == "tenant") ids.insert(f.tenant);
  }
  std::vector<ManifestTenant> tenants;
  for (const auto& id : ids) {
    ManifestTenant t;
    t.id = id;
    try {
      t.audit = signed_state(out / kFilesDir / "audit", id, audit_verifier_keys_of(out / kFilesDir, id));
    } catch (const Error& e) {
      t.audit_error = e.message();  // backed up as it is; restore reports it
    }
    tenants.push_back(std::move(t));
  }
  return tenants;
}

}  // namespace

std::string utc_now() { return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()))); }

Manifest create_backup(const CreateOptions& options) {
  if (!fs::is_directory(options.data_dir)) {
    throw Error(ErrorCode::InvalidArgument, "data_dir " + options.data_dir.string() + " is not a directory");
  }
  if (options.tenant) (void)TenantId(*options.tenant);  // InvalidArgument for a malformed id
  const detail::DataDirLock lock(options.data_dir);
  require_empty_out(options.out);
  Manifest m;
  m.created_at = utc_now();
  m.scope = options.tenant ? "tenant" : "data_dir";
  m.tenant = options.tenant.value_or("");
  m.audit_verifier_key = audit_verifier_key_of(options.data_dir);
  bool tenant_seen = false;
  for (const auto& relative : list_files(options.data_dir)) {
    const FileOwner owner = owner_of(relative);
    const bool is_tenant = owner.kind == FileOwner::Kind::Tenant && options.tenant && owner.tenant == *options.tenant;
    tenant_seen = tenant_seen || is_tenant;
    if (options.tenant && !is_tenant && owner.kind != FileOwner::Kind::Shared) continue;
    m.files.push_back(copy_in(options.data_dir, options.out, relative, owner));
  }
  if (options.tenant && !tenant_seen) {
    throw Error(ErrorCode::NotFound, "tenant \"" + *options.tenant + "\" has no files in " + options.data_dir.string());
  }
  m.tenants = tenants_of(m, options.out);
  for (const auto& f : m.files) sync_tree((options.out / kFilesDir / f.path).parent_path(), options.out);
  tenantai::detail::write_file_atomic(options.out / kManifestName, to_json(m), 0600);
  return m;
}

Manifest verify_backup(const fs::path& from) {
  const fs::path manifest_path = from / kManifestName;
  if (!fs::exists(manifest_path)) {
    throw Error(ErrorCode::NotFound, "no " + std::string(kManifestName) + " in " + from.string() +
                                         " (not a backup, or one that did not finish)");
  }
  Manifest m = parse_manifest(tenantai::detail::read_file(manifest_path), manifest_path);
  for (const auto& f : m.files) {
    const fs::path copy = from / kFilesDir / f.path;
    if (!fs::is_regular_file(fs::symlink_status(copy))) {
      throw Error(ErrorCode::Tampered, "backup file " + copy.string() + " is missing (or not a regular file)");
    }
    const FileDigest digest = digest_file(copy);
    if (digest.size != f.size || digest.blake2b != f.blake2b) {
      throw Error(ErrorCode::Tampered, fmt::format("backup file {} does not match the manifest ({} bytes, digest {}; "
                                                   "the manifest says {} bytes, {})",
                                                   copy.string(), digest.size, digest.blake2b, f.size, f.blake2b));
    }
  }
  return m;
}

}  // namespace tenantai::backup
