// The audit side of backup and restore: a tenant's signed log state, whether a restore would
// roll a log back, and the "restored from backup" event appended after a restore.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "manifest.h"

namespace tenantai::backup {

// The single audit signer's verifier key of a data_dir of earlier releases (from
// keys/audit-signer.key), or empty when it has none. Error(StorageFailure / InvalidArgument)
// naming the file when it cannot be read.
std::string audit_verifier_key_of(const std::filesystem::path& data_dir);
// The verifier keys `tenant`'s log may be signed with in a data_dir: its own (the public line of
// keys/audit-signers/<tenant>.signer) and the earlier single signer's, whichever exist.
std::vector<std::string> audit_verifier_keys_of(const std::filesystem::path& data_dir, const std::string& tenant);

// The state of `tenant`'s log under `audit_dir` as its last signed checkpoint states it, after
// verifying the whole log against `verifier_keys` (any of them may have signed a checkpoint). nullopt when the tenant has no log file.
// Error when the log does not verify (the message names the tenant and what is wrong).
std::optional<AuditSignedState> signed_state(const std::filesystem::path& audit_dir, const std::string& tenant,
                                             const std::vector<std::string>& verifier_keys);

// Why replacing the log of `tenant` in `target_dir` (a data_dir) by the backup's log
// (`backup_log`, a file) would lose records, or nullopt when the backup's log contains every
// record the target's holds (the target's signed tree is a prefix of the backup's log and the
// target has no more records). A target log that cannot be verified is a reason too: nobody
// can tell what a restore over it would lose.
std::optional<std::string> rollback_reason(const std::filesystem::path& target_dir, const std::string& tenant,
                                           const std::optional<std::filesystem::path>& backup_log);

// Appends an OperatorAccess event for the restore to `tenant`'s log in `data_dir` (operator
// "tenantai-backup"; `details` become its ticket) and signs a checkpoint over it, with the
// data_dir's audit signer. Returns the event's index. Throws Error on failure.
std::uint64_t record_restore_event(const std::filesystem::path& data_dir, const std::string& tenant,
                                   const std::string& details, bool rolled_back);

}  // namespace tenantai::backup
