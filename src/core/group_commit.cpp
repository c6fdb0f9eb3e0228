#include "core/group_commit.h"

#include <unistd.h>

#include <algorithm>

namespace tenantai::detail {

bool GroupCommit::sync(std::unique_lock<std::mutex>& lock, const int& fd, const std::uint64_t& written) {
  const std::uint64_t goal = written;
  while (synced_ < goal) {
    if (failed_) return false;
    if (syncing_) {  // the running sync may already cover these bytes
      done_.wait(lock);
      continue;
    }
    syncing_ = true;
    const std::uint64_t target = written;
    const int descriptor = fd;
    lock.unlock();
    const int rc = ::fdatasync(descriptor);
    lock.lock();
    syncing_ = false;
    if (rc != 0) failed_ = true;
    else synced_ = std::max(synced_, target);
    done_.notify_all();
  }
  return !failed_;
}

void GroupCommit::wait_idle(std::unique_lock<std::mutex>& lock) {
  done_.wait(lock, [&] { return !syncing_; });
}

}  // namespace tenantai::detail
