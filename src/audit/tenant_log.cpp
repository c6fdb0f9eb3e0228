#include "audit/tenant_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <charconv>

#include "core/durable_file.h"

namespace tenantai::audit {

namespace {

int open_append(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Error(ErrorCode::StorageFailure, "cannot open " + path.string() + ": " + std::strerror(errno));
  }
  return fd;
}

std::string read_if_exists(const std::filesystem::path& path) {
  return std::filesystem::exists(path) ? tenantai::detail::read_file(path) : std::string();
}

}  // namespace

std::string grant_detail(std::int64_t until_ms) { return "until_ms " + std::to_string(until_ms); }

std::optional<std::int64_t> parse_grant_expiry(std::string_view detail) {
  constexpr std::string_view kPrefix = "until_ms ";
  if (detail.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  const auto digits = detail.substr(kPrefix.size());
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

AuditLog::TenantLog::TenantLog(const std::filesystem::path& root, const TenantId& tenant,
                               const AuditLogOptions& options)
    : tenant_(tenant),
      options_(options),
      log_path_(root / (tenant.str() + ".log")),
      cp_path_(root / (tenant.str() + ".checkpoints")) {
  fd_ = open_append(log_path_);
  cp_fd_ = open_append(cp_path_);
  tenantai::detail::sync_directory(root);
  try {
    recover();
    load_checkpoints();  // refuses a log that ends before its checkpoint, before anything is cut
    if (torn_) {
      // A crash mid-append: cut back to the last complete record.
      if (::ftruncate(fd_, static_cast<off_t>(written_bytes_)) != 0 || ::fsync(fd_) != 0) {
        throw Error(ErrorCode::StorageFailure, "cannot cut the torn tail of " + log_path_.string());
      }
    }
    derive_grants(checkpoints_.empty() ? 0 : checkpoints_.back().size);
  } catch (const Error& e) {
    broken_ = e;  // fail closed: every later operation on this tenant's log reports it
  }
}

AuditLog::TenantLog::~TenantLog() {
  try {
    if (!broken_) flush_locked();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor cannot report; open() cuts a torn tail
  }
  if (fd_ >= 0) {
    (void)::fdatasync(fd_);
    ::close(fd_);
  }
  if (cp_fd_ >= 0) ::close(cp_fd_);
}

void AuditLog::TenantLog::check_usable() const {
  if (broken_) throw *broken_;
}

void AuditLog::TenantLog::recover() {
  const std::string bytes = read_if_exists(log_path_);
  const detail::Scan s = detail::scan(bytes, tenant_.view());
  if (s.error) {
    throw Error(ErrorCode::Tampered, "audit log " + log_path_.string() + " of tenant \"" + tenant_.str() +
                                         "\" failed verification: " + *s.error);
  }
  leaves_.reserve(s.frames.size());
  offsets_.reserve(s.frames.size() + 1);
  for (const auto& f : s.frames) {
    leaves_.push_back(f.leaf);
    offsets_.push_back(f.offset);
    frontier_.append(f.leaf);
    remember_grant(f);
  }
  offsets_.push_back(s.good_bytes);
  written_bytes_ = s.good_bytes;
  commit_.mark_synced(s.good_bytes);
  torn_ = s.torn;
}

void AuditLog::TenantLog::load_checkpoints() {
  const std::string bytes = read_if_exists(cp_path_);
  auto verifier = CheckpointVerifier::parse(options_.signer->verifier_key());
  std::size_t pos = 0;
  std::size_t good = 0;
  while (pos < bytes.size()) {
    const auto nl = bytes.find('\n', pos);
    std::size_t len = 0;
    if (nl == std::string::npos || bytes.compare(pos, 5, "note ") != 0) break;
    try {
      len = std::stoul(bytes.substr(pos + 5, nl - pos - 5));
    } catch (...) {
      throw Error(ErrorCode::Tampered, "malformed entry in " + cp_path_.string() + " at byte " + std::to_string(pos));
    }
    if (nl + 1 + len > bytes.size()) break;  // torn tail
    auto cp = verifier->verify(std::string_view(bytes).substr(nl + 1, len), origin_for(tenant_));
    if (!cp) {
      throw Error(ErrorCode::Tampered, "checkpoint " + std::to_string(checkpoints_.size()) + " in " +
                                           cp_path_.string() + ": " + cp.error().message());
    }
    checkpoints_.push_back(std::move(cp).value());
    pos = nl + 1 + len;
    good = pos;
  }
  cp_bytes_ = good;
  if (good < bytes.size()) {
    if (::ftruncate(cp_fd_, static_cast<off_t>(good)) != 0) {
      throw Error(ErrorCode::StorageFailure, "cannot cut the torn tail of " + cp_path_.string());
    }
  }
  if (!checkpoints_.empty()) {
    const Checkpoint& latest = checkpoints_.back();
    if (latest.size > leaves_.size()) {
      throw Error(ErrorCode::Tampered, "audit log " + log_path_.string() + ": first bad index " +
                                           std::to_string(leaves_.size()) + ": the log ends before its checkpoint of size " +
                                           std::to_string(latest.size));
    }
    if (root_of(leaves_.data(), latest.size) != latest.root) {
      throw Error(ErrorCode::Tampered, "audit log " + log_path_.string() +
                                           ": records do not match the signed checkpoint of size " +
                                           std::to_string(latest.size));
    }
    since_checkpoint_ = leaves_.size() - latest.size;
  } else {
    since_checkpoint_ = leaves_.size();
  }
}

void AuditLog::TenantLog::remember_grant(const detail::Frame& frame) {
  if (frame.tag != detail::kFullTag || frame.header.sealed) return;  // grant records are kept in clear
  auto event = detail::decode_body(frame.header.body, frame.header.timestamp_ms);
  if (!event) return;
  if (event->operation == Operation::GrantOperatorAccess) {
    auto until = parse_grant_expiry(event->detail);
    if (until) grant_records_.push_back({frame.header.index, event->target, until});
  } else if (event->operation == Operation::RevokeOperatorAccess) {
    grant_records_.push_back({frame.header.index, event->target, std::nullopt});
  }
}

void AuditLog::TenantLog::derive_grants(std::uint64_t covered) {
  grants_.clear();
  for (const auto& record : grant_records_) {
    if (record.index >= covered) break;  // not (yet) covered by a signed checkpoint: not a grant
    apply_grant(record.operator_id, record.until_ms);
  }
  grant_records_.clear();
}

void AuditLog::TenantLog::write_all(int fd, std::string_view bytes, const std::filesystem::path& path,
                                    std::uint64_t known_size) {
  try {
    tenantai::detail::write_fully(fd, bytes, path);
  } catch (const Error&) {
    (void)::ftruncate(fd, static_cast<off_t>(known_size));  // never leave a half record behind
    throw;
  }
}

std::uint64_t AuditLog::TenantLog::append(bool sealed, std::int64_t timestamp_ms, std::uint64_t event_id,
                                          std::string_view body) {
  check_usable();
  const std::uint64_t index = leaves_.size();
  detail::RecordHeader h;
  h.sealed = sealed;
  h.index = index;
  h.timestamp_ms = timestamp_ms;
  h.event_id = event_id;
  h.tenant = tenant_.view();
  h.body = body;
  const std::string payload = detail::encode_payload(h);
  const Hash leaf = leaf_hash(payload);
  const std::size_t before = pending_.size();
  detail::append_frame(pending_, detail::kFullTag, payload, leaf);
  const std::uint64_t frame_size = pending_.size() - before;
  if (options_.fsync_every_event || pending_.size() >= options_.write_buffer_bytes) {
    flush_locked();
    if (options_.fsync_every_event && ::fdatasync(fd_) != 0) {
      broken_ = Error(ErrorCode::StorageFailure, "cannot sync " + log_path_.string());
      throw *broken_;
    }
  }
  leaves_.push_back(leaf);
  frontier_.append(leaf);
  offsets_.push_back(offsets_.back() + frame_size);
  ++since_checkpoint_;
  if (since_checkpoint_ >= options_.checkpoint_every_events ||
      std::chrono::steady_clock::now() - last_checkpoint_ >= options_.checkpoint_every) {
    checkpoint();
  }
  return index;
}

const Checkpoint& AuditLog::TenantLog::checkpoint() {
  check_usable();
  if (!checkpoints_.empty() && checkpoints_.back().size == leaves_.size()) return checkpoints_.back();
  flush_locked();
  if (::fdatasync(fd_) != 0) throw Error(ErrorCode::StorageFailure, "cannot sync " + log_path_.string());
  commit_.mark_synced(written_bytes_);
  Checkpoint cp = options_.signer->sign(origin_for(tenant_), leaves_.size(), frontier_.root());
  const std::string entry = "note " + std::to_string(cp.note.size()) + "\n" + cp.note;
  write_all(cp_fd_, entry, cp_path_, cp_bytes_);
  cp_bytes_ += entry.size();
  if (::fdatasync(cp_fd_) != 0) throw Error(ErrorCode::StorageFailure, "cannot sync " + cp_path_.string());
  checkpoints_.push_back(std::move(cp));
  since_checkpoint_ = 0;
  last_checkpoint_ = std::chrono::steady_clock::now();
  return checkpoints_.back();
}

void AuditLog::TenantLog::flush() {
  check_usable();
  flush_locked();
}

void AuditLog::TenantLog::sync(std::unique_lock<std::mutex>& lock) {
  check_usable();
  flush_locked();
  if (!commit_.sync(lock, fd_, written_bytes_)) {
    broken_ = Error(ErrorCode::StorageFailure, "cannot sync " + log_path_.string() + " (log closed)");
  }
  check_usable();
}

void AuditLog::TenantLog::wait_for_sync(std::unique_lock<std::mutex>& lock) { commit_.wait_idle(lock); }

void AuditLog::TenantLog::flush_locked() {
  if (pending_.empty()) return;
  try {
    write_all(fd_, pending_, log_path_, written_bytes_);
  } catch (const Error& e) {
    // The buffered records were acknowledged; losing them silently would hide events.
    broken_ = Error(ErrorCode::StorageFailure, e.message() + " (buffered events lost; log closed)");
    throw *broken_;
  }
  written_bytes_ += pending_.size();
  pending_.clear();
}

std::string AuditLog::TenantLog::read_frames(std::uint64_t first, std::uint64_t count) {
  check_usable();
  flush_locked();
  if (first >= leaves_.size() || count == 0) return {};
  const std::uint64_t last = std::min<std::uint64_t>(leaves_.size(), first + count);
  const std::uint64_t begin = offsets_[first];
  const std::uint64_t end = offsets_[last];
  std::string out(end - begin, '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(begin + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(ErrorCode::StorageFailure, "cannot read " + log_path_.string());
    done += static_cast<std::size_t>(n);
  }
  return out;
}

std::uint64_t AuditLog::TenantLog::prune_before(std::int64_t cutoff_ms) {
  check_usable();
  const std::string bytes = read_frames(0, leaves_.size());
  const detail::Scan s = detail::scan(bytes, tenant_.view());
  if (s.error || s.frames.size() != leaves_.size()) {
    throw Error(ErrorCode::Tampered, "audit log " + log_path_.string() + " changed on disk: " +
                                         s.error.value_or("record count differs"));
  }
  std::string out;
  out.reserve(bytes.size());
  std::uint64_t pruned = 0;
  std::vector<std::uint64_t> offsets;
  offsets.reserve(leaves_.size() + 1);
  for (const auto& f : s.frames) {
    offsets.push_back(out.size());
    if (f.tag == detail::kFullTag && f.header.timestamp_ms < cutoff_ms) {
      detail::RecordHeader h = f.header;
      h.body = {};
      detail::append_frame(out, detail::kPrunedTag, detail::encode_payload(h), f.leaf);
      ++pruned;
    } else {
      detail::append_frame(out, f.tag, f.payload, f.leaf);
    }
  }
  offsets.push_back(out.size());
  if (pruned == 0) return 0;
  tenantai::detail::write_file_atomic(log_path_, out);
  written_bytes_ = out.size();
  commit_.mark_synced(written_bytes_);
  const int fd = open_append(log_path_);
  ::close(fd_);
  fd_ = fd;
  offsets_ = std::move(offsets);
  return pruned;
}

std::optional<std::int64_t> AuditLog::TenantLog::grant_of(const std::string& operator_id) const {
  auto it = grants_.find(operator_id);
  if (it == grants_.end()) return std::nullopt;
  return it->second;
}

void AuditLog::TenantLog::apply_grant(const std::string& operator_id, std::optional<std::int64_t> until_ms) {
  if (until_ms) {
    grants_[operator_id] = *until_ms;
  } else {
    grants_.erase(operator_id);
  }
}

}  // namespace tenantai::audit
