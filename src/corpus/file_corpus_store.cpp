#include "tenantai/corpus/file_corpus_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "core/durable_file.h"
#include "corpus/journal_format.h"
#include "corpus/shared_wal.h"

namespace tenantai::corpus {

namespace {

constexpr std::string_view kSealKind = "corpus-record";

// Beside a journal: why the tenant is held (written by WAL recovery), and a compaction's new file.
std::filesystem::path held_path(const std::filesystem::path& journal) { return journal.string() + ".held"; }
std::filesystem::path compact_path(const std::filesystem::path& journal) { return journal.string() + ".compact"; }

// Creates (truncating) `path` with `bytes` and fsyncs it; StorageFailure naming it.
void write_synced(const std::filesystem::path& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(ErrorCode::StorageFailure, "cannot create " + path.string() + ": " + std::strerror(errno));
  try {
    tenantai::detail::write_fully(fd, bytes, path);
  } catch (const Error&) {
    ::close(fd);
    throw;
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) throw Error(ErrorCode::StorageFailure, "cannot sync " + path.string());
}

// The live put of one document id.
struct LiveRecord {
  std::string id;
  std::string digest;
  std::uint64_t bytes = 0;  // its frame
  std::uint64_t sequence = 0;
};

}  // namespace

// One tenant's journal: the open file, the digest of every live document (for idempotent
// puts), the next sequence number. Every member is guarded by `mutex`.
class FileCorpusStore::Journal {
 public:
  Journal(std::filesystem::path path, TenantId tenant, const FileCorpusOptions& options, detail::SharedWal& wal)
      : path_(std::move(path)), tenant_(std::move(tenant)), options_(options), wal_(wal) {}
  ~Journal() {
    if (fd_ >= 0) ::close(fd_);
  }
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  std::size_t put(const TenantContext& context, const std::vector<CorpusDocument>& documents) {
    std::unique_lock lock(mutex_);
    open(context, nullptr);
    std::string frames;
    std::vector<LiveRecord> written;
    for (const auto& document : documents) {
      std::string digest = content_digest(document);
      auto live = live_.find(document.id);
      if (live != live_.end() && live->second.digest == digest) continue;  // a retry: logged already
      const std::size_t before = frames.size();
      const auto sequence = append_record(context, detail::RecordKind::Put, detail::encode_put(document, digest), frames);
      written.push_back({document.id, std::move(digest), frames.size() - before, sequence});
    }
    const auto ticket = commit(frames);
    for (auto& entry : written) note_put(std::move(entry));
    maybe_compact();
    lock.unlock();
    wal_.wait(ticket);
    return written.size();
  }

  std::size_t remove(const TenantContext& context, const std::vector<std::string>& ids) {
    std::unique_lock lock(mutex_);
    open(context, nullptr);
    std::string frames;
    std::vector<std::pair<std::string, std::uint64_t>> removed;  // id, sequence of the remove
    for (const auto& id : ids) {
      if (live_.count(id) == 0) continue;
      const std::size_t before = frames.size();
      const auto sequence = append_record(context, detail::RecordKind::Remove, detail::encode_remove(id), frames);
      dead_bytes_ += frames.size() - before;
      removed.emplace_back(id, sequence);
    }
    const auto ticket = commit(frames);
    for (const auto& [id, sequence] : removed) note_remove(id, sequence);
    maybe_compact();
    lock.unlock();
    wal_.wait(ticket);
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

  std::uint64_t compact(const TenantContext& context) {
    std::unique_lock lock(mutex_);
    open(context, nullptr);
    return compact_locked();
  }

  std::size_t erase(const TenantContext& context) {
    std::unique_lock lock(mutex_);
    std::size_t held = 0;
    try {
      open(context, nullptr);
      held = live_.size();
    } catch (const Error&) {
      // A damaged or unreadable journal is erased all the same.
    }
    // The WAL's frames of this tenant become void before the journal goes (a crash between
    // the two must not replay them into a new journal), and are scrubbed from the WAL after.
    wal_.append_void_and_wait(tenant_.str());
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    std::error_code ec;
    std::filesystem::remove(path_, ec);
    if (!ec) std::filesystem::remove(held_path(path_), ec);
    if (ec) throw Error(ErrorCode::StorageFailure, "cannot remove " + path_.string() + ": " + ec.message());
    tenantai::detail::sync_directory(path_.parent_path());
    wal_.checkpoint(/*scrub=*/true);
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
      if (std::filesystem::exists(held_path(path_))) throw unavailable(tenantai::detail::read_file(held_path(path_)));
      fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd_ < 0) throw Error(ErrorCode::StorageFailure, "cannot open " + path_.string() + ": " + std::strerror(errno));
      std::string bytes = read_all();
      if (bytes.empty()) {
        // A new journal's header is logged like a record: the first acknowledged write makes
        // it durable (recovery recreates the file), the next checkpoint syncs file and directory.
        bytes = detail::encode_header(tenant_.view());
        tenantai::detail::pwrite_fully(fd_, bytes, 0, path_);
        last_ticket_ = wal_.append(tenant_.str(), 0, bytes, fd_);
      }
      written_ = replay(context, bytes, documents);
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
    dead_bytes_ = 0;
    live_bytes_ = 0;
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
      dead_bytes_ += detail::frame_size(record);
      note_remove(*id, record.sequence);
      if (documents != nullptr) documents->erase(*id);
      return;
    }
    auto put = detail::decode_put(body);
    if (!put) throw unavailable("put record " + std::to_string(record.sequence) + " is malformed");
    note_put({put->first.id, put->second, detail::frame_size(record), record.sequence});
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

  std::uint64_t append_record(const TenantContext& context, detail::RecordKind kind, std::string body, std::string& frames) {
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
    return record.sequence;
  }

  // Writes the frames to the journal (no sync) and logs them in the shared WAL; returns the
  // WAL ticket that makes them durable.
  // An empty write returns the last ticket all the same: a retry skipped as already logged
  // must not be acknowledged before the write it repeats is durable.
  std::uint64_t commit(const std::string& frames) {
    if (frames.empty()) return last_ticket_;
    try {
      tenantai::detail::pwrite_fully(fd_, frames, written_, path_);
    } catch (const Error&) {
      // Never leave half a record: zero what was written past the end.
      const std::string zeros(frames.size(), '\0');
      (void)::pwrite(fd_, zeros.data(), zeros.size(), static_cast<off_t>(written_));
      throw;
    }
    const std::uint64_t offset = written_;
    written_ += frames.size();
    last_ticket_ = wal_.append(tenant_.str(), offset, frames, fd_);
    return last_ticket_;
  }

  void note_put(LiveRecord record) {
    last_sequence_ = std::max(last_sequence_, record.sequence);
    auto& slot = live_[record.id];
    if (!slot.id.empty()) {
      dead_bytes_ += slot.bytes;
      live_bytes_ -= slot.bytes;
    }
    live_bytes_ += record.bytes;
    slot = std::move(record);
  }

  void note_remove(const std::string& id, std::uint64_t sequence) {
    last_sequence_ = std::max(last_sequence_, sequence);
    auto it = live_.find(id);
    if (it == live_.end()) return;
    dead_bytes_ += it->second.bytes;
    live_bytes_ -= it->second.bytes;
    live_.erase(it);
  }

  // Compacts when the dead bytes pass the threshold and outweigh the live ones. A failure does
  // not fail the write that triggered it (that is logged already); it is retried once the dead
  // bytes have doubled.
  void maybe_compact() {
    if (dead_bytes_ < std::max(options_.compact_dead_bytes, retry_compaction_at_) || dead_bytes_ < live_bytes_) return;
    try {
      compact_locked();
    } catch (const Error& e) {
      if (e.code() == ErrorCode::TenantUnavailable) broken_ = e;
      retry_compaction_at_ = dead_bytes_ * 2;
    }
  }

  // Rewrites the journal with only its live puts (plus its highest-sequence record, so that
  // sequence numbers, and with them sealed object ids, never repeat): the journal synced, the
  // new file written beside it and synced, the tenant's WAL frames made void (their offsets
  // name the old file), an atomic rename, a directory sync. A crash at any step leaves one
  // complete journal, the old or the new. Returns the bytes reclaimed.
  std::uint64_t compact_locked() {
    if (::fdatasync(fd_) != 0) throw Error(ErrorCode::StorageFailure, "cannot sync " + path_.string() + " before compacting it");
    const std::string bytes = read_all();
    std::string why;
    const auto header = detail::decode_header(bytes, tenant_.view(), why);
    if (!header) throw unavailable(why);
    const auto scan = detail::scan_frames(std::string_view(bytes).substr(0, written_), *header);
    if (scan.error) throw unavailable(*scan.error);
    std::set<std::uint64_t> keep{last_sequence_};
    for (const auto& [id, record] : live_) keep.insert(record.sequence);
    std::string out = bytes.substr(0, *header);
    for (const auto& record : scan.records) {
      if (keep.count(record.sequence) != 0) detail::append_frame(out, record);
    }
    const auto fresh = compact_path(path_);
    write_synced(fresh, out);
    wal_.append_void_and_wait(tenant_.str());
    if (::rename(fresh.c_str(), path_.c_str()) != 0) {
      const int err = errno;
      ::unlink(fresh.c_str());
      throw Error(ErrorCode::StorageFailure, "cannot replace " + path_.string() + " by its compaction: " + std::strerror(err));
    }
    tenantai::detail::sync_directory(path_.parent_path());
    const int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      broken_ = unavailable(std::string("cannot reopen the compacted journal: ") + std::strerror(errno));
      throw *broken_;
    }
    ::close(fd_);
    fd_ = fd;
    const std::uint64_t reclaimed = written_ - out.size();
    written_ = out.size();
    dead_bytes_ = 0;
    retry_compaction_at_ = 0;
    return reclaimed;
  }

  const std::filesystem::path path_;
  const TenantId tenant_;
  const FileCorpusOptions& options_;
  std::mutex mutex_;  // guards every member below
  detail::SharedWal& wal_;
  int fd_ = -1;
  std::uint64_t written_ = 0;  // end of the last complete record
  std::uint64_t last_ticket_ = 0;  // the WAL ticket of the last frames logged
  std::uint64_t next_sequence_ = 0;
  std::uint64_t last_sequence_ = 0;  // the highest sequence in the journal (kept by compaction)
  std::map<std::string, LiveRecord> live_;  // id -> its live put
  std::uint64_t live_bytes_ = 0;  // frames of live puts
  std::uint64_t dead_bytes_ = 0;  // frames of replaced puts and of removes
  std::uint64_t retry_compaction_at_ = 0;
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
  remove_unfinished_compactions();
  auto journal_path = [this](const std::string& tenant) {
    auto id = TenantId::parse(tenant);
    return id ? path_of(*id) : std::filesystem::path();
  };
  auto hold = [this](const std::string& tenant, const std::string& why) {
    if (auto id = TenantId::parse(tenant)) tenantai::detail::write_file_atomic(held_path(path_of(*id)), why);
  };
  wal_ = std::make_unique<detail::SharedWal>(options_.root / "shared.wal", options_.wal_bytes, journal_path, hold);
}

void FileCorpusStore::remove_unfinished_compactions() {
  for (const auto& entry : std::filesystem::directory_iterator(options_.root)) {
    const auto name = entry.path().filename().string();
    if (name.size() > 16 && name.ends_with(".corpus.compact")) std::filesystem::remove(entry.path());
  }
}

FileCorpusStore::~FileCorpusStore() = default;

std::filesystem::path FileCorpusStore::path_of(const TenantId& tenant) const {
  return options_.root / (tenant.str() + ".corpus");
}

std::shared_ptr<FileCorpusStore::Journal> FileCorpusStore::journal_of(const TenantId& tenant) {
  std::lock_guard lock(journals_mutex_);
  auto& slot = journals_[tenant];
  if (!slot) slot = std::make_shared<Journal>(path_of(tenant), tenant, options_, *wal_);
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

std::uint64_t FileCorpusStore::do_compact(const TenantContext& context) {
  context.check_usable();
  return journal_of(context.tenant())->compact(context);
}

std::size_t FileCorpusStore::do_erase_tenant(const TenantContext& context) {
  context.check_usable();
  const std::size_t held = journal_of(context.tenant())->erase(context);
  std::lock_guard lock(journals_mutex_);
  journals_.erase(context.tenant());
  return held;
}

}  // namespace tenantai::corpus
