// tenantai-backup: offline backup and restore of a whole data_dir or of one tenant
// (docs/backup.md). Both refuse a data_dir a live process holds (its .lock).
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "manifest.h"

namespace tenantai::backup {

struct CreateOptions {
  std::filesystem::path data_dir;
  std::filesystem::path out;          // must not exist, or be an empty directory
  std::optional<std::string> tenant;  // one tenant (and the shared keys), or the whole data_dir
};

// Copies the data_dir's files (or one tenant's and the shared keys) into `out`/files with
// their digests, then writes `out`/manifest.json last (a backup without a manifest is
// incomplete and every restore refuses it). Holds the data_dir's lock throughout.
// Throws Error: Unavailable (data_dir in use), NotFound (no such tenant), AlreadyExists (`out`
// not empty), StorageFailure naming the file.
Manifest create_backup(const CreateOptions& options);

struct RestoreOptions {
  std::filesystem::path from;  // a backup directory made by create_backup
  std::filesystem::path data_dir;
  std::optional<std::string> tenant;  // one tenant, or the whole backup
  bool allow_rollback = false;
};

struct RestoreReport {
  std::vector<std::string> restored;   // files written (relative to data_dir)
  std::vector<std::string> displaced;  // files moved aside into the restore record directory
  std::vector<std::string> rollbacks;  // "<tenant>: <reason>" for every log rolled back
  std::vector<std::string> audit_events;  // "<tenant>: event <index>" appended after the restore
  std::filesystem::path record_dir;    // <data_dir>/restores/<stamp>
};

// Verifies every file of the backup against the manifest first (a damaged backup is refused
// and nothing is written), takes the data_dir's lock, refuses (AlreadyExists) a restore that
// would roll back an audit log unless allow_rollback, then moves the files it replaces into
// <data_dir>/restores/<stamp>/displaced/, copies the backup's files in, writes
// <data_dir>/restores/<stamp>/restore.json and appends a "restore from backup" event to each
// restored tenant's audit log. A one-tenant restore touches only that tenant's files (and adds
// shared keys the data_dir lacks; different shared keys are refused: another deployment).
RestoreReport restore_backup(const RestoreOptions& options);

// Verifies a backup against its manifest without restoring it. Throws Error naming the file.
Manifest verify_backup(const std::filesystem::path& from);

// The command line: create / restore / verify / help. Returns the exit code (0 ok, 1 refused
// or failed, 2 usage error); messages go to `out` and `err`.
int run_backup_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tenantai::backup
