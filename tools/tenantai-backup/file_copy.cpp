#include "file_copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sodium.h>
#include <unistd.h>

#include <tenantai/core/error.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/durable_file.h"

namespace tenantai::backup {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void io_error(const std::string& what, const fs::path& path, int err) {
  throw Error(ErrorCode::StorageFailure, "cannot " + what + " " + path.string() + ": " + std::strerror(err));
}

class Fd {
 public:
  Fd(const fs::path& path, int flags, unsigned mode, const char* what) : fd_(::open(path.c_str(), flags | O_CLOEXEC, mode)) {
    if (fd_ < 0) io_error(what, path, errno);
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

std::string hex_of(crypto_generichash_state& state) {
  unsigned char digest[32];
  crypto_generichash_final(&state, digest, sizeof digest);
  char hex[2 * sizeof digest + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

// Reads `in` to the end, feeding each chunk to the digest and to `sink`.
template <typename Sink>
FileDigest stream(int in, const fs::path& path, Sink&& sink) {
  tenantai::detail::ensure_sodium();
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  std::vector<char> buffer(1 << 20);
  FileDigest out;
  for (;;) {
    const ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) io_error("read", path, errno);
    if (n == 0) break;
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(buffer.data()), static_cast<std::size_t>(n));
    sink(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    out.size += static_cast<std::uint64_t>(n);
  }
  out.blake2b = hex_of(state);
  return out;
}

}  // namespace

FileDigest digest_file(const fs::path& path) {
  Fd in(path, O_RDONLY, 0, "open");
  return stream(in.get(), path, [](std::string_view) {});
}

FileDigest copy_file_hashed(const fs::path& from, const fs::path& to, unsigned mode) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  if (ec) io_error("create directory", to.parent_path(), ec.value());
  Fd in(from, O_RDONLY, 0, "open");
  Fd out(to, O_WRONLY | O_CREAT | O_EXCL, mode & 0777, "create");
  try {
    FileDigest digest = stream(in.get(), from, [&](std::string_view bytes) { tenantai::detail::write_fully(out.get(), bytes, to); });
    if (::fchmod(out.get(), mode & 0777) != 0 || ::fsync(out.get()) != 0) io_error("sync", to, errno);
    return digest;
  } catch (...) {
    ::unlink(to.c_str());
    throw;
  }
}

void sync_tree(const fs::path& dir, const fs::path& root) {
  fs::path at = dir;
  for (;;) {
    tenantai::detail::sync_directory(at);
    if (at == root || !at.has_parent_path() || at.parent_path() == at) break;
    at = at.parent_path();
  }
}

}  // namespace tenantai::backup
