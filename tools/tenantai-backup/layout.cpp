#include "layout.h"

#include <tenantai/core/error.h>
#include <tenantai/core/tenant_id.h>
#include <tenantai/memory/sqlite_memory_store.h>

#include <algorithm>
#include <string_view>

#include "core/data_dir_lock.h"

namespace tenantai::backup {

namespace {

namespace fs = std::filesystem;

bool strip_suffix(std::string_view& name, std::string_view suffix) {
  if (name.size() <= suffix.size() || !name.ends_with(suffix)) return false;
  name.remove_suffix(suffix.size());
  return true;
}

// The tenant named by `stem` if it is a valid tenant id.
FileOwner tenant_owner(std::string_view stem) {
  auto id = TenantId::parse(stem);
  if (!id.ok()) return {};
  return {FileOwner::Kind::Tenant, id->str()};
}

FileOwner memory_owner(std::string_view name) {
  for (std::string_view sidecar : {"-wal", "-journal", "-shm"}) {
    if (strip_suffix(name, sidecar)) break;
  }
  auto tenant = memory::SqliteMemoryStore::tenant_of_file_name(name);
  if (!tenant) return {};
  return {FileOwner::Kind::Tenant, tenant->str()};
}

}  // namespace

FileOwner owner_of(const std::string& relative) {
  std::string_view path = relative;
  if (path.starts_with("restores/")) return {FileOwner::Kind::Records, {}};
  strip_suffix(path, ".tmp");
  const auto slash = path.rfind('/');
  const std::string_view dir = slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (dir == "keys") {
    if (strip_suffix(name, ".kek")) return tenant_owner(name);
    if (name.ends_with(".key")) return {FileOwner::Kind::Shared, {}};
    return {};
  }
  if (dir == "keys/data-keys" && strip_suffix(name, ".keyring")) return tenant_owner(name);
  if (dir == "keys/audit-signers" && strip_suffix(name, ".signer")) return tenant_owner(name);
  if (dir == "audit" && (strip_suffix(name, ".log") || strip_suffix(name, ".checkpoints"))) return tenant_owner(name);
  if (dir == "corpus" && strip_suffix(name, ".corpus")) return tenant_owner(name);
  if (dir == "memory") return memory_owner(name);
  return {};
}

std::string audit_log_of(const std::string& tenant) { return "audit/" + tenant + ".log"; }

std::vector<std::string> list_files(const fs::path& data_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(data_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto status = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(status)) continue;
    const std::string relative = fs::relative(it->path(), data_dir).generic_string();
    if (relative == detail::DataDirLock::kFileName) continue;
    if (!fs::is_regular_file(status)) {
      throw Error(ErrorCode::StorageFailure, "cannot back up " + it->path().string() +
                                                 ": not a regular file (symlinks and special files are refused)");
    }
    out.push_back(relative);
  }
  if (ec) throw Error(ErrorCode::StorageFailure, "cannot list " + data_dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

bool is_safe_relative(const std::string& relative) {
  if (relative.empty() || relative.front() == '/' || relative.find('\0') != std::string::npos) return false;
  std::size_t start = 0;
  while (start <= relative.size()) {
    const auto end = std::min(relative.find('/', start), relative.size());
    const std::string_view part(relative.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace tenantai::backup
