// Small durable-file helpers shared by every layer that writes files (internal): crypto, audit,
// retrieval persistence, pipeline exports.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace tenantai::detail {

// sodium_init() once; throws Error(Internal) if libsodium cannot initialise.
void ensure_sodium();

// Whole file as bytes. StorageFailure naming the path on error.
std::string read_file(const std::filesystem::path& path);

// Writes all of `bytes` to `fd` (retrying short writes and EINTR); StorageFailure naming `path`.
void write_fully(int fd, std::string_view bytes, const std::filesystem::path& path);

// Writes all of `bytes` at `offset` of `fd` (pwrite, retrying short writes and EINTR);
// StorageFailure naming `path`.
void pwrite_fully(int fd, std::string_view bytes, std::uint64_t offset, const std::filesystem::path& path);

// Writes `bytes` to `path` atomically: temp file in the same directory, fsync, rename, fsync of
// the directory. `mode` is applied to the new file. StorageFailure naming the path on error.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes, unsigned mode = 0600);

// A read-only memory map of a whole file (empty files map to an empty view). Move-only.
class MappedFile {
 public:
  // StorageFailure naming the path on error.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::string_view bytes() const noexcept { return {data_, size_}; }

 private:
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

// fsync of a directory (makes renames/creates durable). Best effort: errors ignored.
void sync_directory(const std::filesystem::path& dir) noexcept;

}  // namespace tenantai::detail
