// AuditSink: where a tenant's exported audit bundle goes. FileSink ships with tenantai.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string_view>

namespace tenantai::audit {

// Receives one bundle: write() any number of times, then commit(). A sink is used by one export
// at a time (not thread-safe). Throw Error(StorageFailure) on failure; the export then fails and
// a sink that was not committed must not leave a partial bundle where the tenant reads it.
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual void write(std::string_view chunk) = 0;
  virtual void commit() = 0;
};

// Writes to `<path>.partial`, then fsyncs and renames to `path` on commit(). Destroyed without
// commit: the partial file is removed. AlreadyExists if `path` exists (bundles are immutable).
class FileSink final : public AuditSink {
 public:
  explicit FileSink(std::filesystem::path path);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  void write(std::string_view chunk) override;
  void commit() override;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
  std::filesystem::path partial_;
  std::FILE* file_ = nullptr;
};

}  // namespace tenantai::audit
