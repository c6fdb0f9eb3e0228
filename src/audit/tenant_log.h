// One tenant's log files and in-memory tree state (internal to AuditLog).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "audit/record_codec.h"
#include "core/group_commit.h"
#include "tenantai/audit/audit_log.h"

namespace tenantai::audit {

// The detail text of a grant record ("until_ms <ms since epoch>") and its inverse (nullopt when
// the text is not one).
std::string grant_detail(std::int64_t until_ms);
std::optional<std::int64_t> parse_grant_expiry(std::string_view detail);

// Not thread-safe by itself: AuditLog holds `mutex` around every call.
class AuditLog::TenantLog {
 public:
  TenantLog(const std::filesystem::path& root, const TenantId& tenant, const AuditLogOptions& options);
  ~TenantLog();
  TenantLog(const TenantLog&) = delete;
  TenantLog& operator=(const TenantLog&) = delete;

  std::mutex mutex;

  // Throws the error that made the log unusable, if any (fail closed).
  void check_usable() const;
  // Appends one record; returns its index. Checkpoints when the policy says so.
  std::uint64_t append(bool sealed, std::int64_t timestamp_ms, std::uint64_t event_id, std::string_view body);
  // fsync + sign + persist a checkpoint over everything appended.
  const Checkpoint& checkpoint();
  std::uint64_t size() const noexcept { return leaves_.size(); }
  const std::vector<Hash>& leaves() const noexcept { return leaves_; }
  const std::vector<Checkpoint>& checkpoints() const noexcept { return checkpoints_; }
  // Writes buffered records to the file (see flush policy in AuditLogOptions).
  void flush();
  // Group commit: returns once every record appended before the call is on disk (fdatasync).
  // `lock` holds `mutex`; it is released while this thread syncs for everyone, so concurrent
  // callers share one fdatasync. A failed sync makes the log unusable (StorageFailure).
  void sync(std::unique_lock<std::mutex>& lock);
  // Waits (releasing `lock`) until no thread is syncing, so fd_ can be replaced or closed.
  void wait_for_sync(std::unique_lock<std::mutex>& lock);
  // Stored bytes of records [first, first + count) (clamped), read back from disk.
  std::string read_frames(std::uint64_t first, std::uint64_t count);
  // Rewrites the log with bodies older than `cutoff_ms` removed; returns how many were pruned.
  std::uint64_t prune_before(std::int64_t cutoff_ms);

  // Operator grants (operator id → expiry, ms since epoch), derived from the grant and revoke
  // records of the log that a signed checkpoint covers; nothing else is a grant.
  std::optional<std::int64_t> grant_of(const std::string& operator_id) const;
  // Applies a grant (until_ms) or revocation (nullopt) just appended and checkpointed.
  void apply_grant(const std::string& operator_id, std::optional<std::int64_t> until_ms);

  const TenantId& tenant() const noexcept { return tenant_; }

 private:
  void recover();
  void load_checkpoints();
  // Notes a clear grant or revoke record seen while recovering.
  void remember_grant(const detail::Frame& frame);
  // Grants and revocations of the records [0, covered) that a checkpoint signed, in log order.
  void derive_grants(std::uint64_t covered);
  void write_all(int fd, std::string_view bytes, const std::filesystem::path& path, std::uint64_t known_size);
  // Writes buffered records to the file (not fsynced). A failure makes the log unusable.
  void flush_locked();

  TenantId tenant_;
  const AuditLogOptions& options_;
  std::filesystem::path log_path_;
  std::filesystem::path cp_path_;
  int fd_ = -1;
  int cp_fd_ = -1;
  std::optional<Error> broken_;
  std::vector<Hash> leaves_;
  std::vector<std::uint64_t> offsets_;  // frame start offsets, plus the end offset at the back
  MerkleFrontier frontier_;
  std::vector<Checkpoint> checkpoints_;
  std::uint64_t since_checkpoint_ = 0;
  std::chrono::steady_clock::time_point last_checkpoint_ = std::chrono::steady_clock::now();
  std::map<std::string, std::int64_t> grants_;
  struct GrantRecord {
    std::uint64_t index;
    std::string operator_id;
    std::optional<std::int64_t> until_ms;  // nullopt: a revocation
  };
  std::vector<GrantRecord> grant_records_;  // found while recovering, before checkpoints are known
  std::string pending_;              // records appended but not yet written (bounded, see flush)
  std::uint64_t written_bytes_ = 0;  // bytes of the log file that hold complete records
  tenantai::detail::GroupCommit commit_;  // concurrent sync() calls share one fdatasync
  std::uint64_t cp_bytes_ = 0;       // bytes of the checkpoints file
  bool torn_ = false;                // the log ended in an incomplete record when opened
};

}  // namespace tenantai::audit
