#include "core/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tenantai/core/error.h"

namespace tenantai::detail {

DataDirLock::DataDirLock(const std::filesystem::path& data_dir) {
  const auto path = data_dir / kFileName;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0) {
    throw Error(ErrorCode::StorageFailure, "cannot open lock file " + path.string() + ": " + std::strerror(errno));
  }
  // flock locks belong to the open file description, so a second DataDirLock in this process
  // (its own open()) conflicts too, not only another process.
  int rc = 0;
  do {
    rc = ::flock(fd_, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      throw Error(ErrorCode::Unavailable, "data directory " + data_dir.string() +
                                              " is in use by another process (it holds " + path.string() +
                                              "); stop it first");
    }
    throw Error(ErrorCode::StorageFailure, "cannot lock " + path.string() + ": " + std::strerror(err));
  }
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

}  // namespace tenantai::detail
