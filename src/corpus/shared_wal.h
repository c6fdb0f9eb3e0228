// SharedWal (internal): one write-ahead log shared by every tenant journal of a FileCorpusStore,
// so concurrent writers of different tenants share one fdatasync. docs/corpus-format.md is
// the byte-level contract.
//
// A writer appends its frames to its tenant journal (pwrite, no sync), then appends the same
// bytes to the WAL tagged with the tenant and the journal offset, and is acknowledged once
// the WAL's group commit covers them. A checkpoint (when the WAL is full, on erase, at close)
// fdatasyncs every journal written since the last one and starts a new WAL generation (the
// file is reused in place, so a sync flushes data, not metadata). Recovery writes every frame
// of the current generation back at its journal offset (idempotent), cuts each journal behind
// its last logged frame, syncs them and starts a new generation.
//
//   wal     := header frame* (stale frames of older generations and zeros behind)
//   header  := "TAICWAL" 0x00 | version:u32le (= 1) | generation:u64le | key:16 | check:16
//   frame   := "TWAL" | head_len:u16le | head | head_check:16 | body_check:16 | body
//              (frame checks: BLAKE2b-128 keyed with the file's random key)
//   head    := generation:u64le | kind:u8 (1 frames, 2 void) | journal_offset:u64le |
//              body_len:u32le | durable:u64le | tenant_len:u16le | tenant
//   body    := the tenant journal's frames, byte for byte (sealed records stay sealed)
//
// `durable` is the WAL offset known to be synced when the frame was appended: a damaged frame
// with a later frame whose `durable` lies past it was acknowledged (damage, not a crash).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/group_commit.h"


namespace tenantai::corpus::detail {

// Thread-safe. Every failure is thrown as tenantai::Error(StorageFailure) naming the file; a
// failed WAL sync fails every later append (the device is shared), never silently.
class SharedWal {
 public:
  // Records that a tenant must stay unavailable (its journal is untouched), and why; called
  // during recovery, before the generation holding the evidence ends. May throw Error.
  using HoldTenant = std::function<void(const std::string& tenant, const std::string& why)>;

  // Opens (creating) and locks `path` (flock: a second store on the same directory, in this
  // process or another, gets StorageFailure) and recovers it into the journals `journal_path(tenant)` names.
  // Tenants whose logged frames cannot be applied (a damaged frame of theirs, a missing
  // journal) are left untouched and passed to `hold`. `capacity`: bytes before a checkpoint.
  SharedWal(std::filesystem::path path, std::uint64_t capacity,
            std::function<std::filesystem::path(const std::string&)> journal_path, HoldTenant hold);
  // Checkpoints (best effort) and closes.
  ~SharedWal();
  SharedWal(const SharedWal&) = delete;
  SharedWal& operator=(const SharedWal&) = delete;

  // Logs `frames`, already written to `journal_fd` at `offset`, for `tenant`; returns the
  // ticket to wait for. The caller holds its tenant's lock (so a tenant's frames are logged in
  // journal order) and must call wait() after releasing it.
  std::uint64_t append(const std::string& tenant, std::uint64_t offset, std::string_view frames, int journal_fd);
  // Logs that every earlier frame of `tenant` is void (its journal was synced and replaced or
  // removed); waits until that is durable.
  void append_void_and_wait(const std::string& tenant);
  // Returns once the ticket is durable (StorageFailure if the WAL could not be synced).
  void wait(std::uint64_t ticket);
  // Syncs every journal written since the last checkpoint and starts a new generation;
  // `scrub` also zeroes the log's used bytes first (erasing an unsealed tenant's records).
  void checkpoint(bool scrub);

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  struct Frame;
  void recover(const HoldTenant& hold);
  void apply_recovered(const std::map<std::string, std::vector<Frame>>& frames);
  void start_generation(std::unique_lock<std::mutex>& lock, bool scrub);
  std::uint64_t append_locked(std::unique_lock<std::mutex>& lock, std::uint8_t kind, const std::string& tenant,
                              std::uint64_t offset, std::string_view body);
  void write_at(std::string_view bytes, std::uint64_t at);
  void fail(const std::string& why);

  const std::filesystem::path path_;
  const std::uint64_t capacity_;
  const std::function<std::filesystem::path(const std::string&)> journal_path_;
  std::mutex mutex_;  // guards every member below
  int fd_ = -1;
  std::uint64_t generation_ = 0;
  std::string key_;                // the frame-check key, random when the file is created
  std::uint64_t position_ = 0;     // end of the last frame of this generation
  std::uint64_t file_size_ = 0;    // the file is grown with zeros in chunks, then reused
  std::uint64_t total_ = 0;        // bytes logged since open, across generations (tickets)
  std::uint64_t generation_start_ = 0;  // total_ when this generation began
  std::uint64_t durable_total_ = 0;     // total_ covered by the last completed sync
  tenantai::detail::GroupCommit commit_;
  std::map<std::string, int> dirty_;  // tenant -> dup of its journal fd, written this generation
  std::map<std::string, std::string> damaged_;  // found by recovery: tenant -> why
  bool failed_ = false;
  std::string failure_;
};

}  // namespace tenantai::corpus::detail
