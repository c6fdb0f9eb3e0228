// Internal: an exclusive advisory lock on a data directory (flock on <data_dir>/.lock), so two
// processes never open one data_dir at once: a Platform holds it while it lives, and offline
// tools (tenantai-backup) refuse a data_dir a live process holds.
#pragma once

#include <filesystem>
#include <optional>

namespace tenantai::detail {

// Holds flock(LOCK_EX) on <data_dir>/.lock for its lifetime (released on destruction or when
// the process dies, also by kill -9). The lock file is created (0600) if missing and never
// deleted. Move-only; not thread-safe (one owner).
class DataDirLock {
 public:
  // Takes the lock without waiting. Throws Error(Unavailable) naming the directory when another
  // process (or another DataDirLock in this process) holds it, StorageFailure naming the lock
  // file when it cannot be created or opened.
  explicit DataDirLock(const std::filesystem::path& data_dir);
  ~DataDirLock();
  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&&) = delete;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

  // The lock file's name inside a data_dir.
  static constexpr const char* kFileName = ".lock";

 private:
  int fd_ = -1;
};

}  // namespace tenantai::detail
