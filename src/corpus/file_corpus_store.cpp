#include "tenantai/corpus/file_corpus_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

#include "core/durable_file.h"
#include "core/group_commit.h"
#include "corpus/journal_format.h"

namespace tenantai::corpus {

namespace {
constexpr std::string_view kSealKind = "corpus-record";
}  // namespace

// One tenant's journal: the open file, the digest of every live document (for idempotent
// puts), the next sequence number. Every member is guarded by `mutex`.
class FileCorpusStore::Journal {
 public:
  Journal(std::filesystem::path path, TenantId tenant, const FileCorpusOptions& options)
      : path_(std::move(path)), tenant_(std::move(tenant)), options_(options) {}
  ~Journal() {
    if (fd_ >= 0) ::close(fd_);
  }
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  std::size_t put(const TenantContext& context, const std::vector<CorpusDocument>& documents) {
    std::unique_lock lock(mutex_);
    open(context, nullptr);
    std::string frames;
    std::vector<std::pair<std::string, std::string>> written;  // id, digest
    for (const auto& document : documents) {
      std::string digest = content_digest(document);
      auto live = live_.find(document.id);
      if (live != live_.end() && live->second == digest) continue;  // a retry: already durable
      append_record(context, detail::RecordKind::Put, detail::encode_put(document, digest), frames);
      written.emplace_back(document.id, std::move(digest));
    }
    commit(lock, frames);
    for (auto& [id, digest] : written) live_[id] = std::move(digest);
    return written.size();
  }

  std::size_t remove(const TenantContext& context, const std::vector<std::string>& ids) {
    std::unique_lock lock(mutex_);
    open(context, nullptr);
    std::string frames;
    std::vector<std::string> removed;
    for (const auto& id : ids) {
      if (live_.count(id) == 0) continue;
      append_record(context, detail::RecordKind::Remove, detail::encode_remove(id), frames);
      removed.push_back(id);
    }
    commit(lock, frames);
    for (const auto& id : removed) live_.erase(id);
    return removed.size();
  }

  LoadReport load(const TenantContext& context, const std::function<void(CorpusDocument&&)>& sink) {
    std::unique_lock lock(mutex_);
    std::map<std::string, CorpusDocument> documents;
    if (fd_ >= 0) {  // already open: replay again to hand the documents out
      check_usable();
      replay(context, read_all(), &documents);
    } else {
      open(context, &documents);
    }
    LoadReport report = report_;
    report.documents = documents.size();
    for (auto& [id, document] : documents) sink(std::move(document));
    return report;
  }

  std::size_t erase(const TenantContext& context) {
    std::unique_lock lock(mutex_);
    commit_.wait_idle(lock);
    std::size_t held = 0;
    try {
      open(context, nullptr);
      held = live_.size();
    } catch (const Error&) {
      // A damaged or unreadable journal is erased all the same.
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    std::error_code ec;
    std::filesystem::remove(path_, ec);
    if (ec) throw Error(ErrorCode::StorageFailure, "cannot remove " + path_.string() + ": " + ec.message());
    tenantai::detail::sync_directory(path_.parent_path());
    live_.clear();
    erased_ = true;
    return held;
  }

 private:
  void check_usable() const {
    if (broken_) throw *broken_;
    if (erased_) throw Error(ErrorCode::NotFound, "the corpus of tenant \"" + tenant_.str() + "\" was erased");
  }

  Error unavailable(const std::string& why) const {
    return Error(ErrorCode::TenantUnavailable,
                 "corpus of tenant \"" + tenant_.str() + "\" (" + path_.string() + "): " + why + "; the tenant is quarantined");
  }

  std::string read_all() const { return tenantai::detail::read_file(path_); }

  // Opens (creating) and verifies the journal on first use; later calls only check it.
  void open(const TenantContext& context, std::map<std::string, CorpusDocument>* documents) {
    check_usable();
    if (fd_ >= 0) return;
    try {
      fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd_ < 0) throw Error(ErrorCode::StorageFailure, "cannot open " + path_.string() + ": " + std::strerror(errno));
      std::string bytes = read_all();
      if (bytes.empty()) {
        bytes = detail::encode_header(tenant_.view());
        tenantai::detail::pwrite_fully(fd_, bytes, 0, path_);
        if (::fsync(fd_) != 0) throw Error(ErrorCode::StorageFailure, "cannot sync " + path_.string());
        tenantai::detail::sync_directory(path_.parent_path());
      }
      written_ = replay(context, bytes, documents);
      const off_t size = ::lseek(fd_, 0, SEEK_END);
      allocated_ = size < 0 ? written_ : std::max<std::uint64_t>(static_cast<std::uint64_t>(size), written_);
      commit_.mark_synced(written_);
    } catch (const Error& e) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = -1;
      // A key that is gone (shredded, or revoked by a tenant that may restore it) is reported
      // as it is and retried on the next use; damage stays until the store is reopened.
      if (e.code() == ErrorCode::CryptoFailure) throw;
      broken_ = e.code() == ErrorCode::TenantUnavailable ? e : unavailable(e.message());
      throw *broken_;
    }
  }

  // Rebuilds live_ (and `documents`) from the journal's bytes; cuts a torn tail. Returns the
  // verified length.
  std::uint64_t replay(const TenantContext& context, const std::string& bytes,
                       std::map<std::string, CorpusDocument>* documents) {
    std::string why;
    const auto header = detail::decode_header(bytes, tenant_.view(), why);
    if (!header) throw unavailable(why);
    const detail::FrameScan scan = detail::scan_frames(bytes, *header);
    if (scan.error) throw unavailable(*scan.error);
    live_.clear();
    for (const auto& record : scan.records) apply(context, record, documents);
    if (scan.torn) cut_tail(bytes, scan.good_bytes);
    report_.records = scan.records.size();
    return scan.good_bytes;
  }

  void apply(const TenantContext& context, const detail::Record& record, std::map<std::string, CorpusDocument>* documents) {
    next_sequence_ = std::max(next_sequence_, record.sequence + 1);
    const std::string body = record.sealed ? open_sealed(context, record) : record.body;
    if (record.kind == detail::RecordKind::Remove) {
      auto id = detail::decode_remove(body);
      if (!id) throw unavailable("remove record " + std::to_string(record.sequence) + " is malformed");
      live_.erase(*id);
      if (documents != nullptr) documents->erase(*id);
      return;
    }
    auto put = detail::decode_put(body);
    if (!put) throw unavailable("put record " + std::to_string(record.sequence) + " is malformed");
    live_[put->first.id] = put->second;
    if (documents != nullptr) (*documents)[put->first.id] = std::move(put->first);
  }

  std::string open_sealed(const TenantContext& context, const detail::Record& record) const {
    if (options_.sealer == nullptr) throw unavailable("record " + std::to_string(record.sequence) + " is sealed but the store has no sealer");
    auto opened = options_.sealer->open(context, kSealKind, detail::object_id(record.sequence), record.body);
    if (!opened) {
      if (opened.error().code() == ErrorCode::CryptoFailure) throw opened.error();  // key gone: say so, as it is
      throw unavailable("record " + std::to_string(record.sequence) + " does not open: " + opened.error().message());
    }
    return std::move(opened).value();
  }

  // Cuts a crash's half-written record (and the preallocated zeros) back to the last verified
  // record; reports the bytes of the half record.
  void cut_tail(const std::string& bytes, std::uint64_t good) {
    if (::ftruncate(fd_, static_cast<off_t>(good)) != 0 || ::fsync(fd_) != 0) {
      throw Error(ErrorCode::StorageFailure, "cannot cut the torn tail of " + path_.string());
    }
    const auto last = bytes.find_last_not_of('\0');
    report_.torn_bytes_cut = last == std::string::npos || last < good ? 0 : last + 1 - good;
  }

  void append_record(const TenantContext& context, detail::RecordKind kind, std::string body, std::string& frames) {
    detail::Record record;
    record.kind = kind;
    record.sequence = next_sequence_++;
    if (options_.seal(tenant_)) {
      if (options_.sealer == nullptr) throw Error(ErrorCode::CryptoFailure, "the tenant's corpus must be sealed but the store has no sealer");
      record.body = options_.sealer->seal(context, kSealKind, detail::object_id(record.sequence), body);
      record.sealed = true;
    } else {
      record.body = std::move(body);
    }
    detail::append_frame(frames, record);
  }

  // Space ahead of the end is allocated in chunks (a quarter of the journal, 64 KiB..8 MiB), so
  // an append is a pure data write and its fdatasync need not commit file-size metadata (about
  // 6x cheaper on ext4: 0.25 ms instead of 1.5 ms per sync here).
  void reserve(std::size_t bytes) {
    if (written_ + bytes <= allocated_) return;
    const std::uint64_t chunk = std::clamp<std::uint64_t>(written_ / 4, 64u << 10, 8u << 20);
    const std::uint64_t want = written_ + bytes + chunk;
    if (const int rc = ::posix_fallocate(fd_, static_cast<off_t>(allocated_), static_cast<off_t>(want - allocated_)); rc != 0) {
      throw Error(ErrorCode::StorageFailure, "cannot allocate space in " + path_.string() + ": " + std::strerror(rc));
    }
    allocated_ = want;
  }

  // Writes the frames and waits for the group commit that covers them.
  void commit(std::unique_lock<std::mutex>& lock, const std::string& frames) {
    if (frames.empty()) return;
    try {
      reserve(frames.size());
      tenantai::detail::pwrite_fully(fd_, frames, written_, path_);
    } catch (const Error&) {
      // Never leave half a record: zero what was written past the end (the space stays allocated).
      const std::string zeros(frames.size(), '\0');
      (void)::pwrite(fd_, zeros.data(), zeros.size(), static_cast<off_t>(written_));
      throw;
    }
    written_ += frames.size();
    if (!commit_.sync(lock, fd_, written_)) {
      broken_ = Error(ErrorCode::StorageFailure, "cannot sync " + path_.string() + " (corpus closed)");
      throw *broken_;
    }
  }

  const std::filesystem::path path_;
  const TenantId tenant_;
  const FileCorpusOptions& options_;
  std::mutex mutex_;
  int fd_ = -1;
  std::uint64_t written_ = 0;    // end of the last complete record
  std::uint64_t allocated_ = 0;  // file size (the tail past written_ is zeros)
  std::uint64_t next_sequence_ = 0;
  tenantai::detail::GroupCommit commit_;
  std::map<std::string, std::string> live_;  // id -> content digest
  std::optional<Error> broken_;
  bool erased_ = false;
  LoadReport report_;
};

FileCorpusStore::FileCorpusStore(FileCorpusOptions options) : options_(std::move(options)) {
  std::error_code ec;
  std::filesystem::create_directories(options_.root, ec);
  if (ec || !std::filesystem::is_directory(options_.root)) {
    throw Error(ErrorCode::StorageFailure, "cannot create corpus root " + options_.root.string() + ": " + ec.message());
  }
}

FileCorpusStore::~FileCorpusStore() = default;

std::filesystem::path FileCorpusStore::path_of(const TenantId& tenant) const {
  return options_.root / (tenant.str() + ".corpus");
}

std::shared_ptr<FileCorpusStore::Journal> FileCorpusStore::journal_of(const TenantId& tenant) {
  std::lock_guard lock(journals_mutex_);
  auto& slot = journals_[tenant];
  if (!slot) slot = std::make_shared<Journal>(path_of(tenant), tenant, options_);
  return slot;
}

std::size_t FileCorpusStore::do_put(const TenantContext& context, const std::vector<CorpusDocument>& documents) {
  context.check_usable();
  return journal_of(context.tenant())->put(context, documents);
}

std::size_t FileCorpusStore::do_remove(const TenantContext& context, const std::vector<std::string>& ids) {
  context.check_usable();
  return journal_of(context.tenant())->remove(context, ids);
}

LoadReport FileCorpusStore::do_load(const TenantContext& context, const std::function<void(CorpusDocument&&)>& sink) {
  context.check_usable();
  return journal_of(context.tenant())->load(context, sink);
}

std::size_t FileCorpusStore::do_erase_tenant(const TenantContext& context) {
  context.check_usable();
  const std::size_t held = journal_of(context.tenant())->erase(context);
  std::lock_guard lock(journals_mutex_);
  journals_.erase(context.tenant());
  return held;
}

}  // namespace tenantai::corpus
