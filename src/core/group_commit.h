// Group commit (internal): many writers of one append-only file share one fdatasync. The
// writer that finds no sync running becomes the leader and syncs everything written so far
// with the file's mutex released; the others wait for the sync that covers their bytes. Used
// by the audit log and the corpus journal.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace tenantai::detail {

// Not thread-safe by itself: every call holds the file's mutex (passed as `lock`).
class GroupCommit {
 public:
  // Everything already on disk when the file was opened counts as synced.
  explicit GroupCommit(std::uint64_t synced = 0) noexcept : synced_(synced) {}

  // Returns once bytes [0, written) of `fd` are durable. `fd` and `written` are read at the
  // moment this thread leads (they are members of the caller, updated under the mutex).
  // Returns false when fdatasync failed (errno set); the caller then closes the file.
  bool sync(std::unique_lock<std::mutex>& lock, const int& fd, const std::uint64_t& written);

  // Waits until no sync is running, so the caller may replace or close `fd`.
  void wait_idle(std::unique_lock<std::mutex>& lock);

  // After the caller synced the whole file itself (a checkpoint) or rewrote it.
  void mark_synced(std::uint64_t bytes) noexcept { synced_ = bytes; }

 private:
  std::uint64_t synced_;
  bool syncing_ = false;
  bool failed_ = false;
  std::condition_variable done_;
};

}  // namespace tenantai::detail
