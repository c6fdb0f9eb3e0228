// LogStorage: where AuditLog keeps each tenant's two streams, the record stream (one framed
// record per event, in index order) and the checkpoint stream (signed checkpoint notes).
//
// The seam is record-oriented, not byte-oriented: a record is the opaque bytes of one frame
// (docs/audit-format.md) at a known index, and a checkpoint is one note's text. A database
// backend stores one row per record (tenant, index, frame) and per note, appends a batch in one
// transaction and truncates or replaces with DELETE/INSERT; a file backend writes the frames
// back to back. Storage never interprets a frame: AuditLog (and verify_log) recompute every
// leaf from the stored bytes, so a flipped byte is caught whatever the storage. Byte offsets
// are a file detail and stay inside FileLogStorage.
//
//   auto storage = std::make_shared<FileLogStorage>(root);   // the default
//   AuditLog log(root, {.signer = &signer, .storage = storage});
//   auto report = verify_log(*storage, tenant, verifier);     // same checks, any storage
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/core/tenant_id.h"

namespace tenantai::audit {

// What a scan of the record stream found after its complete records.
struct RecordScan {
  std::uint64_t records = 0;         // complete records visited (or found, if the visitor stopped)
  bool torn = false;                 // the stream ends in an incomplete record (a crash mid-write)
  std::optional<std::string> broken;  // the framing after `records` is unreadable (why): tampering
};

// The checkpoint stream as stored.
struct CheckpointScan {
  std::vector<std::string> notes;  // every complete note, oldest first
  bool torn = false;               // the stream ends in an incomplete entry (a crash mid-write)
};

enum class OpenMode {
  ReadWrite,  // creates the tenant's streams if missing (and upgrades old formats in place)
  ReadOnly,   // for verification: never writes; NotFound when the tenant has no log
};

// One tenant's streams, opened by LogStorage::open. Not thread-safe: AuditLog calls it under the
// tenant's mutex (`lock` in the group-commit calls is that mutex). Every failure throws
// tenantai::Error naming the stream: StorageFailure for I/O (and unknown format versions),
// IsolationViolation for streams that belong to another tenant, Tampered for unreadable framing
// under the stream's header. A failed append leaves no partial record behind.
class TenantLogStreams {
 public:
  virtual ~TenantLogStreams() = default;

  // Names of the streams for error messages (a path; a table and tenant).
  virtual std::string records_name() const = 0;
  virtual std::string checkpoints_name() const = 0;

  // Calls `visit(frame)` for each complete record from index 0, in order, until it returns
  // false. `frame` is valid only during the call.
  virtual RecordScan scan_records(const std::function<bool(std::string_view frame)>& visit) = 0;
  // Concatenated frames of records [first, first + count), clamped to what is stored.
  virtual std::string read_records(std::uint64_t first, std::uint64_t count) = 0;
  // Appends `frames` as records first_index, first_index + 1, ...; first_index must equal the
  // stored record count (InvalidArgument otherwise). Readable at once, durable after a sync.
  virtual void append_records(std::uint64_t first_index, std::span<const std::string_view> frames) = 0;
  // Makes every appended record durable before returning, holding the caller's lock.
  virtual void sync_records() = 0;
  // Group commit: the same, but may release `lock` while syncing so concurrent callers share
  // one sync. Throws StorageFailure if the sync failed (the caller then stops using the log).
  virtual void sync_records_shared(std::unique_lock<std::mutex>& lock) = 0;
  // Returns once no sync_records_shared() is in flight (releasing `lock` while waiting). Call it
  // before reading the records that replace_records() will rewrite.
  virtual void wait_idle(std::unique_lock<std::mutex>& lock) = 0;
  // Drops records [keep, end) (a torn tail after a crash). Durable before returning.
  virtual void truncate_records(std::uint64_t keep) = 0;
  // Atomically replaces all records by `frames` (retention pruning). Durable before returning;
  // after a crash either the old or the new records are stored, never a mix.
  virtual void replace_records(std::span<const std::string_view> frames) = 0;

  // Every stored checkpoint note.
  virtual CheckpointScan read_checkpoints() = 0;
  // Appends one note; durable before returning.
  virtual void append_checkpoint(std::string_view note) = 0;
  // Drops notes [keep, end) (a torn tail after a crash).
  virtual void truncate_checkpoints(std::uint64_t keep) = 0;
};

// Per-tenant audit streams. Thread-safe: tenants are independent; a tenant's streams are opened
// by at most one ReadWrite owner at a time (the AuditLog), readers may open ReadOnly meanwhile.
class LogStorage {
 public:
  virtual ~LogStorage() = default;
  // Opens `tenant`'s streams. Throws as TenantLogStreams does; NotFound (ReadOnly, no log).
  virtual std::unique_ptr<TenantLogStreams> open(const TenantId& tenant, OpenMode mode) = 0;
  // Removes the tenant's streams (offboarding that erases evidence). The tenant must not be open
  // for writing. No-op if absent. StorageFailure on I/O error.
  virtual void erase(const TenantId& tenant) = 0;
  // Tenants with a stored log, sorted.
  virtual std::vector<TenantId> tenants() = 0;
};

// The default storage: <root>/<tenant>.log and <root>/<tenant>.checkpoints, each starting with a
// header (magic, format version, tenant id); records written back to back, fdatasync shared by
// group commit, torn tails cut by truncate_records(), prune by atomic rename. Files of the
// previous release (format 0, no header) are upgraded in place when opened ReadWrite and read
// as they are when opened ReadOnly. Thread-safe like LogStorage.
class FileLogStorage final : public LogStorage {
 public:
  // Does not touch the disk; ReadWrite opens create `root` if needed.
  explicit FileLogStorage(std::filesystem::path root);

  std::unique_ptr<TenantLogStreams> open(const TenantId& tenant, OpenMode mode) override;
  void erase(const TenantId& tenant) override;
  std::vector<TenantId> tenants() override;

  const std::filesystem::path& root() const noexcept { return root_; }
  std::filesystem::path log_path(const TenantId& tenant) const;
  std::filesystem::path checkpoints_path(const TenantId& tenant) const;

 private:
  std::filesystem::path root_;
};

}  // namespace tenantai::audit
