// FileLogStorage: each tenant's record and checkpoint streams as two files (see log_storage.h).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "audit/file_format.h"
#include "audit/record_codec.h"
#include "core/durable_file.h"
#include "core/group_commit.h"
#include "tenantai/audit/log_storage.h"

namespace tenantai::audit {

namespace {

using tenantai::detail::write_file_atomic;

Error io_error(const std::string& what, const std::filesystem::path& path) {
  return Error(ErrorCode::StorageFailure, what + " " + path.string() + ": " + std::strerror(errno));
}

int open_file(const std::filesystem::path& path, OpenMode mode) {
  const int flags = mode == OpenMode::ReadWrite ? O_RDWR | O_APPEND | O_CLOEXEC : O_RDONLY | O_CLOEXEC;
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) throw io_error("cannot open", path);
  return fd;
}

// The first bytes of a file (enough for any header), empty if the file is missing.
std::string read_prefix(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string out(256, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<std::size_t>(in.gcount()));
  return out;
}

using HeaderParser = detail::FileHeader (*)(std::string_view, const TenantId&, const std::filesystem::path&);

// Creates `path` holding `header`, or upgrades a format-0 file by putting `header` in front of
// its bytes, unchanged (so no Merkle leaf and no signed checkpoint changes). Atomic.
void ensure_header(const std::filesystem::path& path, const TenantId& tenant, const std::string& header,
                   HeaderParser parse) {
  if (!std::filesystem::exists(path)) {
    write_file_atomic(path, header);
    return;
  }
  if (parse(read_prefix(path), tenant, path).version != 0) return;
  write_file_atomic(path, header + tenantai::detail::read_file(path));
}

std::string concat(std::span<const std::string_view> frames) {
  std::size_t total = 0;
  for (auto f : frames) total += f.size();
  std::string out;
  out.reserve(total);
  for (auto f : frames) out.append(f);
  return out;
}

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

class FileStreams final : public TenantLogStreams {
 public:
  FileStreams(const FileLogStorage& storage, const TenantId& tenant, OpenMode mode)
      : tenant_(tenant), log_path_(storage.log_path(tenant)), cp_path_(storage.checkpoints_path(tenant)), mode_(mode) {
    if (mode == OpenMode::ReadWrite) {
      ensure_header(log_path_, tenant, detail::log_header(tenant), &detail::parse_log_header);
      ensure_header(cp_path_, tenant, detail::checkpoints_header(tenant), &detail::parse_checkpoints_header);
      tenantai::detail::sync_directory(storage.root());
      cp_fd_ = open_file(cp_path_, mode);
    } else {
      if (!std::filesystem::exists(log_path_)) {
        throw Error(ErrorCode::NotFound, "no audit log for tenant \"" + tenant.str() + "\" at " + log_path_.string());
      }
      (void)detail::parse_log_header(read_prefix(log_path_), tenant, log_path_);  // refuse early, never rewrite
      (void)detail::parse_checkpoints_header(read_prefix(cp_path_), tenant, cp_path_);
    }
    fd_ = open_file(log_path_, mode);
  }

  ~FileStreams() override {
    if (fd_ >= 0) {
      if (mode_ == OpenMode::ReadWrite) (void)::fdatasync(fd_);
      ::close(fd_);
    }
    if (cp_fd_ >= 0) ::close(cp_fd_);
  }

  std::string records_name() const override { return log_path_.string(); }
  std::string checkpoints_name() const override { return cp_path_.string(); }

  RecordScan scan_records(const std::function<bool(std::string_view)>& visit) override {
    const tenantai::detail::MappedFile file(log_path_);
    const std::string_view bytes = file.bytes();
    const detail::FileHeader header = detail::parse_log_header(bytes, tenant_, log_path_);
    RecordScan result;
    offsets_.assign(1, header.size);
    for (std::size_t pos = header.size; pos < bytes.size();) {
      const detail::FrameExtent extent = detail::frame_extent(bytes.substr(pos));
      if (extent.kind == detail::FrameExtent::Torn) {
        result.torn = true;
        break;
      }
      if (extent.kind == detail::FrameExtent::Bad) {
        result.broken = extent.why + " at byte " + std::to_string(pos) + " of " + log_path_.string();
        break;
      }
      pos += extent.size;
      offsets_.push_back(pos);
    }
    written_ = offsets_.back();
    commit_.mark_synced(written_);  // what the file held when opened
    indexed_ = true;
    result.records = offsets_.size() - 1;
    for (std::size_t i = 0; i + 1 < offsets_.size(); ++i) {
      if (!visit(bytes.substr(offsets_[i], offsets_[i + 1] - offsets_[i]))) break;
    }
    return result;
  }

  std::string read_records(std::uint64_t first, std::uint64_t count) override {
    ensure_indexed();
    const std::uint64_t stored = offsets_.size() - 1;
    if (first >= stored || count == 0) return {};
    const std::uint64_t last = std::min<std::uint64_t>(stored, first + count);
    std::string out(offsets_[last] - offsets_[first], '\0');
    for (std::size_t done = 0; done < out.size();) {
      const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offsets_[first] + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw io_error("cannot read", log_path_);
      done += static_cast<std::size_t>(n);
    }
    return out;
  }

  void append_records(std::uint64_t first_index, std::span<const std::string_view> frames) override {
    ensure_writable();
    ensure_indexed();
    if (first_index != offsets_.size() - 1) {
      throw Error(ErrorCode::InvalidArgument, "append at record " + std::to_string(first_index) + " to " +
                                                  log_path_.string() + ", which holds " +
                                                  std::to_string(offsets_.size() - 1));
    }
    try {
      tenantai::detail::write_fully(fd_, concat(frames), log_path_);
    } catch (const Error&) {
      (void)::ftruncate(fd_, static_cast<off_t>(written_));  // never leave a half record behind
      throw;
    }
    for (auto f : frames) offsets_.push_back(offsets_.back() + f.size());
    written_ = offsets_.back();
  }

  void sync_records() override {
    ensure_writable();
    if (::fdatasync(fd_) != 0) throw io_error("cannot sync", log_path_);
    commit_.mark_synced(written_);
  }

  void sync_records_shared(std::unique_lock<std::mutex>& lock) override {
    ensure_writable();
    if (!commit_.sync(lock, fd_, written_)) throw io_error("cannot sync", log_path_);
  }

  void wait_idle(std::unique_lock<std::mutex>& lock) override { commit_.wait_idle(lock); }

  void truncate_records(std::uint64_t keep) override {
    ensure_writable();
    ensure_indexed();
    keep = std::min<std::uint64_t>(keep, offsets_.size() - 1);
    const auto size = static_cast<off_t>(offsets_[keep]);
    if (::ftruncate(fd_, size) != 0 || ::fsync(fd_) != 0) throw io_error("cannot cut the torn tail of", log_path_);
    offsets_.resize(keep + 1);
    written_ = offsets_.back();
    commit_.mark_synced(written_);
  }

  void replace_records(std::span<const std::string_view> frames) override {
    ensure_writable();
    const std::string header = detail::log_header(tenant_);
    write_file_atomic(log_path_, header + concat(frames));
    const int fd = open_file(log_path_, mode_);
    ::close(fd_);
    fd_ = fd;
    offsets_.assign(1, header.size());
    for (auto f : frames) offsets_.push_back(offsets_.back() + f.size());
    written_ = offsets_.back();
    commit_.mark_synced(written_);
    indexed_ = true;
  }

  CheckpointScan read_checkpoints() override {
    CheckpointScan result;
    const std::string bytes =
        std::filesystem::exists(cp_path_) ? tenantai::detail::read_file(cp_path_) : std::string();
    std::size_t pos = detail::parse_checkpoints_header(bytes, tenant_, cp_path_).size;
    cp_offsets_.assign(1, pos);
    while (pos < bytes.size()) {
      const std::string_view rest = std::string_view(bytes).substr(pos);
      const auto nl = rest.find('\n');
      const bool note_prefix = rest.substr(0, 5) == std::string_view("note ").substr(0, std::min<std::size_t>(5, rest.size()));
      const std::string_view digits = rest.size() > 5 ? rest.substr(5, nl == std::string_view::npos ? rest.npos : nl - 5) : "";
      if (!note_prefix || !all_digits(digits) || digits.size() > 8 || (nl != std::string_view::npos && digits.empty())) {
        throw Error(ErrorCode::Tampered, "malformed entry in " + cp_path_.string() + " at byte " + std::to_string(pos));
      }
      if (nl == std::string_view::npos) {
        result.torn = true;
        break;
      }
      const std::size_t len = std::stoul(std::string(digits));
      if (nl + 1 + len > rest.size()) {
        result.torn = true;
        break;
      }
      result.notes.emplace_back(rest.substr(nl + 1, len));
      pos += nl + 1 + len;
      cp_offsets_.push_back(pos);
    }
    cp_indexed_ = true;
    return result;
  }

  void append_checkpoint(std::string_view note) override {
    ensure_writable();
    if (!cp_indexed_) (void)read_checkpoints();
    const std::string entry = "note " + std::to_string(note.size()) + "\n" + std::string(note);
    try {
      tenantai::detail::write_fully(cp_fd_, entry, cp_path_);
    } catch (const Error&) {
      (void)::ftruncate(cp_fd_, static_cast<off_t>(cp_offsets_.back()));
      throw;
    }
    if (::fdatasync(cp_fd_) != 0) throw io_error("cannot sync", cp_path_);
    cp_offsets_.push_back(cp_offsets_.back() + entry.size());
  }

  void truncate_checkpoints(std::uint64_t keep) override {
    ensure_writable();
    if (!cp_indexed_) (void)read_checkpoints();
    keep = std::min<std::uint64_t>(keep, cp_offsets_.size() - 1);
    if (::ftruncate(cp_fd_, static_cast<off_t>(cp_offsets_[keep])) != 0 || ::fsync(cp_fd_) != 0) {
      throw io_error("cannot cut the torn tail of", cp_path_);
    }
    cp_offsets_.resize(keep + 1);
  }

 private:
  void ensure_writable() const {
    if (mode_ != OpenMode::ReadWrite) {
      throw Error(ErrorCode::Internal, "audit streams of tenant \"" + tenant_.str() + "\" were opened read-only");
    }
  }
  void ensure_indexed() {
    if (!indexed_) (void)scan_records([](std::string_view) { return false; });
  }

  TenantId tenant_;
  std::filesystem::path log_path_;
  std::filesystem::path cp_path_;
  OpenMode mode_;
  int fd_ = -1;
  int cp_fd_ = -1;
  std::vector<std::uint64_t> offsets_;     // start of every complete record, then the end of the last
  bool indexed_ = false;
  std::uint64_t written_ = 0;              // bytes of the log file: header and complete records
  tenantai::detail::GroupCommit commit_;   // concurrent sync_records_shared() share one fdatasync
  std::vector<std::uint64_t> cp_offsets_;  // start of every complete entry, then the end of the last
  bool cp_indexed_ = false;
};

}  // namespace

FileLogStorage::FileLogStorage(std::filesystem::path root) : root_(std::move(root)) {}

std::filesystem::path FileLogStorage::log_path(const TenantId& tenant) const { return root_ / (tenant.str() + ".log"); }

std::filesystem::path FileLogStorage::checkpoints_path(const TenantId& tenant) const {
  return root_ / (tenant.str() + ".checkpoints");
}

std::unique_ptr<TenantLogStreams> FileLogStorage::open(const TenantId& tenant, OpenMode mode) {
  if (mode == OpenMode::ReadWrite) {
    std::error_code ec;
    std::filesystem::create_directories(root_, ec);
    if (ec) throw Error(ErrorCode::StorageFailure, "cannot create audit root " + root_.string() + ": " + ec.message());
  }
  return std::make_unique<FileStreams>(*this, tenant, mode);
}

void FileLogStorage::erase(const TenantId& tenant) {
  for (const auto& path : {log_path(tenant), checkpoints_path(tenant)}) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    if (ec) throw Error(ErrorCode::StorageFailure, "cannot remove " + path.string() + ": " + ec.message());
  }
  tenantai::detail::sync_directory(root_);
}

std::vector<TenantId> FileLogStorage::tenants() {
  std::vector<TenantId> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".log") continue;
    auto id = TenantId::parse(entry.path().stem().string());
    if (id) out.push_back(std::move(id).value());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace tenantai::audit
