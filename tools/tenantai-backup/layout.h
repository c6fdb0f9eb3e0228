// Which files of a data_dir belong to whom: the deployment's shared keys, one tenant, or
// neither. Follows the layout Platform creates (docs/formats.md lists every file).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace tenantai::backup {

struct FileOwner {
  enum class Kind {
    Shared,   // keys/*.key: master key and signing keys every tenant depends on
    Tenant,   // one tenant's keys, audit log, corpus or memory
    Records,  // restores/**: records of earlier restores (history, never restored over)
    Other,    // anything else (kept in a whole-data_dir backup, not in a tenant backup)
  };
  Kind kind = Kind::Other;
  std::string tenant{};  // for Kind::Tenant
};

// The owner of `relative` (a path under data_dir in generic form, e.g. "audit/acme.log").
// A leftover "<file>.tmp" of an interrupted atomic write belongs to the owner of <file>.
FileOwner owner_of(const std::string& relative);

// The audit log of `tenant`, relative to data_dir.
std::string audit_log_of(const std::string& tenant);

// Every regular file under `data_dir`, relative and sorted, except the lock file. Throws
// Error(StorageFailure) naming the path for a symlink or special file (a backup copies files,
// never what a link points at) or when the directory cannot be read.
std::vector<std::string> list_files(const std::filesystem::path& data_dir);

// True for a relative path that stays inside its root: not empty, not absolute, no "." or
// ".." component, no empty component. Manifest paths are checked with it before any use.
bool is_safe_relative(const std::string& relative);

}  // namespace tenantai::backup
