// Streaming file copies and digests (BLAKE2b-256 via libsodium) for backups.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace tenantai::backup {

struct FileDigest {
  std::uint64_t size = 0;
  std::string blake2b;  // lower-case hex BLAKE2b-256 of the contents
};

// Size and digest of `path`. Error(StorageFailure) naming the path.
FileDigest digest_file(const std::filesystem::path& path);

// Copies `from` to a new file `to` (parent directories created; `to` must not exist), with
// permission bits `mode`, fsynced, and returns the digest of the bytes written. On failure the
// partial `to` is removed and Error(StorageFailure) names the path.
FileDigest copy_file_hashed(const std::filesystem::path& from, const std::filesystem::path& to, unsigned mode);

// fsync of every directory from `dir` up to and including `root` (new entries made durable).
void sync_tree(const std::filesystem::path& dir, const std::filesystem::path& root);

}  // namespace tenantai::backup
