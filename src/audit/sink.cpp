#include "tenantai/audit/sink.h"

#include <fcntl.h>
#include <unistd.h>

#include "core/durable_file.h"
#include "tenantai/core/error.h"

namespace tenantai::audit {

FileSink::FileSink(std::filesystem::path path) : path_(std::move(path)), partial_(path_.string() + ".partial") {
  if (std::filesystem::exists(path_)) {
    throw Error(ErrorCode::AlreadyExists, "bundle " + path_.string() + " already exists");
  }
  // 0600: a bundle holds the tenant's opened (decrypted) events.
  const int fd = ::open(partial_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  file_ = fd >= 0 ? ::fdopen(fd, "wb") : nullptr;
  if (file_ == nullptr) {
    if (fd >= 0) ::close(fd);
    throw Error(ErrorCode::StorageFailure, "cannot create " + partial_.string());
  }
}

FileSink::~FileSink() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::error_code ec;
    std::filesystem::remove(partial_, ec);
  }
}

void FileSink::write(std::string_view chunk) {
  if (file_ == nullptr) throw Error(ErrorCode::StorageFailure, "bundle " + path_.string() + " was already committed");
  if (std::fwrite(chunk.data(), 1, chunk.size(), file_) != chunk.size()) {
    throw Error(ErrorCode::StorageFailure, "cannot write " + partial_.string());
  }
}

void FileSink::commit() {
  if (file_ == nullptr) throw Error(ErrorCode::StorageFailure, "bundle " + path_.string() + " was already committed");
  const bool ok = std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
  std::fclose(file_);
  file_ = nullptr;
  std::error_code ec;
  if (!ok) {
    std::filesystem::remove(partial_, ec);
    throw Error(ErrorCode::StorageFailure, "cannot sync " + partial_.string());
  }
  std::filesystem::rename(partial_, path_, ec);
  if (ec) throw Error(ErrorCode::StorageFailure, "cannot publish " + path_.string() + ": " + ec.message());
  tenantai::detail::sync_directory(path_.parent_path());
}

}  // namespace tenantai::audit
