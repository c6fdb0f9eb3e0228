#include "corpus/shared_wal.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "core/durable_file.h"
#include "corpus/journal_format.h"
#include "tenantai/core/error.h"

namespace tenantai::corpus::detail {

namespace {

constexpr std::string_view kWalMagic{"TAICWAL\0", 8};
constexpr std::string_view kFrameMagic{"TWAL", 4};
constexpr std::uint32_t kWalVersion = 1;
constexpr std::size_t kKeyBytes = 16;
constexpr std::size_t kHeaderBytes = 8 + 4 + 8 + kKeyBytes + kCheckBytes;
constexpr std::size_t kHeadFixed = 8 + 1 + 8 + 4 + 8 + 2;
constexpr std::uint64_t kGrowChunk = 1u << 20;
constexpr std::uint8_t kFramesKind = 1;
constexpr std::uint8_t kVoidKind = 2;
constexpr std::size_t kSyncThreads = 8;

// BLAKE2b-128 of `bytes`, keyed with the WAL's key when one is given: frame checks are keyed,
// so text a tenant ingests cannot pose as a frame when recovery searches for one.
std::string check(std::string_view bytes, std::string_view key = {}) {
  unsigned char out[kCheckBytes];
  crypto_generichash(out, kCheckBytes, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                     reinterpret_cast<const unsigned char*>(key.data()), key.size());
  return std::string(reinterpret_cast<const char*>(out), kCheckBytes);
}

std::string encode_wal_header(std::uint64_t generation, std::string_view key) {
  std::string out(kWalMagic);
  put_u32(out, kWalVersion);
  put_u64(out, generation);
  out.append(key);
  out += check(out);
  return out;
}

struct Head {
  std::uint64_t generation = 0;
  std::uint8_t kind = 0;
  std::uint64_t offset = 0;
  std::uint32_t body_len = 0;
  std::uint64_t durable = 0;
  std::string tenant;
};

std::string encode_frame(const Head& head, std::string_view body, std::string_view key) {
  std::string h;
  put_u64(h, head.generation);
  h.push_back(static_cast<char>(head.kind));
  put_u64(h, head.offset);
  put_u32(h, head.body_len);
  put_u64(h, head.durable);
  put_u16(h, static_cast<std::uint16_t>(head.tenant.size()));
  h += head.tenant;
  std::string out(kFrameMagic);
  put_u16(out, static_cast<std::uint16_t>(h.size()));
  out += h;
  out += check(h, key);
  out += check(body, key);
  out.append(body);
  return out;
}

// Where a frame head starts at `at` and verifies: its fields, and where its body starts.
// nullopt for anything else (zeros, damage, a stray magic inside a body).
std::optional<Head> parse_head(std::string_view bytes, std::size_t at, std::string_view key, std::size_t& body_at) {
  if (bytes.size() - at < 6 + kHeadFixed + 2 * kCheckBytes || bytes.substr(at, 4) != kFrameMagic) return std::nullopt;
  const std::size_t head_len = get_le<std::uint16_t>(bytes, at + 4);
  if (head_len < kHeadFixed || bytes.size() - at - 6 < head_len + 2 * kCheckBytes) return std::nullopt;
  const std::string_view h = bytes.substr(at + 6, head_len);
  if (check(h, key) != bytes.substr(at + 6 + head_len, kCheckBytes)) return std::nullopt;
  Head head;
  head.generation = get_le<std::uint64_t>(h, 0);
  head.kind = static_cast<std::uint8_t>(h[8]);
  head.offset = get_le<std::uint64_t>(h, 9);
  head.body_len = get_le<std::uint32_t>(h, 17);
  head.durable = get_le<std::uint64_t>(h, 21);
  const std::size_t tenant_len = get_le<std::uint16_t>(h, 29);
  if (kHeadFixed + tenant_len != head_len) return std::nullopt;
  head.tenant = std::string(h.substr(kHeadFixed, tenant_len));
  body_at = at + 6 + head_len + 2 * kCheckBytes;
  return head;
}

bool body_verifies(std::string_view bytes, const Head& head, std::size_t body_at, std::string_view key) {
  if (bytes.size() - body_at < head.body_len) return false;
  return check(bytes.substr(body_at, head.body_len), key) == bytes.substr(body_at - kCheckBytes, kCheckBytes);
}

// Walks the intact frames of `generation` after `from` (resynchronising on the frame magic)
// up to the first frame of an older generation (the current one overwrites the file from its
// start, so older frames lie behind its end). Returns whether one of them proves that the
// frame at `damaged_at` had been synced (its `durable` lies past it); adds their tenants to
// `tenants`.
bool acknowledged_after(std::string_view bytes, std::size_t from, std::uint64_t generation, std::size_t damaged_at,
                        std::string_view key, std::set<std::string>* tenants) {
  bool acknowledged = false;
  for (std::size_t at = bytes.find(kFrameMagic, from); at != std::string_view::npos; at = bytes.find(kFrameMagic, at + 1)) {
    std::size_t body_at = 0;
    const auto head = parse_head(bytes, at, key, body_at);
    if (!head || !body_verifies(bytes, *head, body_at, key)) continue;
    if (head->generation < generation) break;
    if (head->generation != generation) continue;
    if (head->durable > damaged_at) acknowledged = true;
    if (tenants != nullptr) tenants->insert(head->tenant);
  }
  return acknowledged;
}

bool sync_all(const std::vector<int>& fds) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> ok{true};
  auto worker = [&] {
    for (std::size_t i = next++; i < fds.size(); i = next++) {
      if (::fdatasync(fds[i]) != 0) ok = false;
    }
  };
  std::vector<std::thread> helpers;
  for (std::size_t t = 1; t < std::min(kSyncThreads, fds.size()); ++t) helpers.emplace_back(worker);
  worker();
  for (auto& t : helpers) t.join();
  return ok;
}

}  // namespace

struct SharedWal::Frame {
  std::uint64_t offset = 0;
  std::string body;
  std::uint64_t at = 0;  // position in the WAL, for messages
};

SharedWal::SharedWal(std::filesystem::path path, std::uint64_t capacity,
                     std::function<std::filesystem::path(const std::string&)> journal_path, HoldTenant hold)
    : path_(std::move(path)), capacity_(capacity), journal_path_(std::move(journal_path)) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw Error(ErrorCode::StorageFailure, "cannot open " + path_.string() + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    throw Error(ErrorCode::StorageFailure, path_.string() + " is in use by another corpus store (one process per data directory)");
  }
  try {
    recover(hold);
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

SharedWal::~SharedWal() {
  try {
    std::unique_lock lock(mutex_);
    if (!failed_) start_generation(lock, false);
  } catch (const Error&) {
    // Nothing is lost: the next open replays this generation.
  }
  for (const auto& [tenant, fd] : dirty_) ::close(fd);
  ::close(fd_);
}

void SharedWal::recover(const HoldTenant& hold) {
  const tenantai::detail::MappedFile mapped(path_);  // only the pages read are loaded
  const std::string_view all = mapped.bytes();
  file_size_ = all.size();
  std::map<std::string, std::vector<Frame>> frames;
  const bool fresh = all_zero(all);
  if (!fresh && all.size() >= kHeaderBytes && all.substr(0, kWalMagic.size()) == kWalMagic &&
      check(all.substr(0, kHeaderBytes - kCheckBytes)) == all.substr(kHeaderBytes - kCheckBytes, kCheckBytes)) {
    if (get_le<std::uint32_t>(all, kWalMagic.size()) != kWalVersion) {
      throw Error(ErrorCode::StorageFailure, path_.string() + ": WAL format version " +
                                                 std::to_string(get_le<std::uint32_t>(all, kWalMagic.size())) + " is not supported");
    }
    generation_ = get_le<std::uint64_t>(all, kWalMagic.size() + 4);
    key_ = std::string(all.substr(kWalMagic.size() + 12, kKeyBytes));
    std::size_t at = kHeaderBytes;
    while (at < all.size()) {
      std::size_t body_at = 0;
      auto head = parse_head(all, at, key_, body_at);
      if (head && head->generation != generation_) head.reset();
      if (!head) {
        // Zeros, an older generation, or a head that does not verify: the end of the log
        // (a crash mid-append), unless a later frame proves this one had been synced.
        std::set<std::string> later;
        if (!acknowledged_after(all, at + 1, generation_, at, key_, &later)) break;
        for (const auto& [tenant, list] : frames) later.insert(tenant);
        for (const auto& tenant : later) {
          damaged_[tenant] = "the shared WAL " + path_.string() + " has a damaged frame head at byte " +
                             std::to_string(at) + " (its tenant cannot be read; every tenant logged in this generation is held)";
        }
        break;
      }
      if (!body_verifies(all, *head, body_at, key_)) {
        if (!acknowledged_after(all, at + 1, generation_, at, key_, nullptr)) break;
        damaged_[head->tenant] = "the shared WAL " + path_.string() + " has a damaged record of this tenant at byte " + std::to_string(at);
      } else if (head->kind == kVoidKind) {
        frames[head->tenant].clear();  // the journal was synced and replaced: earlier frames are moot
        damaged_.erase(head->tenant);
      } else {
        frames[head->tenant].push_back(Frame{head->offset, std::string(all.substr(body_at, head->body_len)), at});
      }
      at = body_at + head->body_len;
    }
  } else if (fresh) {
    tenantai::detail::ensure_sodium();
    key_.resize(kKeyBytes);
    randombytes_buf(key_.data(), key_.size());
  } else {
    throw Error(ErrorCode::StorageFailure, path_.string() + ": the shared corpus WAL's header is damaged (bad magic or check)");
  }
  apply_recovered(frames);
  // Recorded before the generation ends: the next open no longer sees these frames. The log
  // itself is kept beside for the operator.
  if (!damaged_.empty()) {
    std::error_code ec;
    std::filesystem::copy_file(path_, path_.string() + ".damaged-" + std::to_string(generation_),
                               std::filesystem::copy_options::overwrite_existing, ec);
  }
  for (const auto& [tenant, why] : damaged_) hold(tenant, why);
  std::unique_lock lock(mutex_);
  start_generation(lock, false);
}

void SharedWal::apply_recovered(const std::map<std::string, std::vector<Frame>>& frames) {
  for (const auto& [tenant, list] : frames) {
    if (list.empty() || damaged_.count(tenant) != 0) continue;
    for (std::size_t i = 1; i < list.size(); ++i) {
      if (list[i].offset != list[i - 1].offset + list[i - 1].body.size()) {
        damaged_[tenant] = "the shared WAL " + path_.string() + " misses a record of this tenant before byte " + std::to_string(list[i].at);
      }
    }
    if (damaged_.count(tenant) != 0) continue;
    const auto journal = journal_path_(tenant);
    // A journal logged from its first byte (its header) is recreated if the crash lost it.
    const int fd = ::open(journal.c_str(), O_RDWR | O_CLOEXEC | (list.front().offset == 0 ? O_CREAT : 0), 0600);
    if (fd < 0) {
      damaged_[tenant] = "the shared WAL " + path_.string() + " holds records for " + journal.string() + ", which is missing";
      continue;
    }
    bool ok = true;
    try {
      for (const auto& frame : list) tenantai::detail::pwrite_fully(fd, frame.body, frame.offset, journal);
    } catch (const Error&) {
      ok = false;
    }
    const std::uint64_t end = list.back().offset + list.back().body.size();
    ok = ok && ::ftruncate(fd, static_cast<off_t>(end)) == 0 && ::fdatasync(fd) == 0;
    ::close(fd);
    if (!ok) throw Error(ErrorCode::StorageFailure, "cannot replay the shared WAL " + path_.string() + " into " + journal.string());
  }
  tenantai::detail::sync_directory(path_.parent_path());  // journals recreated above
}

void SharedWal::write_at(std::string_view bytes, std::uint64_t at) {
  if (at + bytes.size() > file_size_) {
    // Grow with zeros a chunk at a time: later syncs flush data, not the file's size.
    const std::uint64_t grown = std::max(at + bytes.size(), file_size_ + std::min(kGrowChunk, capacity_));
    const std::string zeros(grown - file_size_, '\0');
    tenantai::detail::pwrite_fully(fd_, zeros, file_size_, path_);
    file_size_ = grown;
  }
  tenantai::detail::pwrite_fully(fd_, bytes, at, path_);
}

void SharedWal::fail(const std::string& why) {
  failed_ = true;
  failure_ = why + " (the shared corpus WAL is closed; every tenant's ingest fails until the store is reopened)";
  throw Error(ErrorCode::StorageFailure, failure_);
}

void SharedWal::start_generation(std::unique_lock<std::mutex>& lock, bool scrub) {
  commit_.wait_idle(lock);
  std::vector<int> fds;
  for (const auto& [tenant, fd] : dirty_) fds.push_back(fd);
  const bool synced = sync_all(fds);
  for (const int fd : fds) ::close(fd);
  dirty_.clear();
  if (!synced) fail("cannot sync a tenant journal at a checkpoint of " + path_.string());
  if (!fds.empty()) tenantai::detail::sync_directory(path_.parent_path());  // journals created since the last one
  try {
    if (scrub && file_size_ > kHeaderBytes) {
      for (std::uint64_t at = kHeaderBytes; at < file_size_; at += kGrowChunk) {
        const std::string zeros(std::min(kGrowChunk, file_size_ - at), '\0');
        tenantai::detail::pwrite_fully(fd_, zeros, at, path_);
      }
    }
    write_at(encode_wal_header(generation_ + 1, key_), 0);
  } catch (const Error& e) {
    fail(e.message());
  }
  if (::fdatasync(fd_) != 0) fail("cannot sync " + path_.string());
  ++generation_;
  position_ = kHeaderBytes;
  generation_start_ = total_;
  durable_total_ = total_;
  commit_.mark_synced(total_);
}

std::uint64_t SharedWal::append_locked(std::unique_lock<std::mutex>& lock, std::uint8_t kind, const std::string& tenant,
                                       std::uint64_t offset, std::string_view body) {
  if (failed_) throw Error(ErrorCode::StorageFailure, failure_);
  Head head;
  head.kind = kind;
  head.offset = offset;
  head.body_len = static_cast<std::uint32_t>(body.size());
  head.tenant = tenant;
  const std::size_t size = 6 + kHeadFixed + tenant.size() + 2 * kCheckBytes + body.size();
  auto full = [&] { return position_ + size > capacity_ && position_ > kHeaderBytes; };
  if (full()) {
    commit_.wait_idle(lock);  // may let another writer in, which may checkpoint first
    if (full()) start_generation(lock, false);
  }
  head.generation = generation_;
  head.durable = kHeaderBytes + (durable_total_ > generation_start_ ? durable_total_ - generation_start_ : 0);
  try {
    write_at(encode_frame(head, body, key_), position_);
  } catch (const Error& e) {
    fail(e.message());  // a half-written frame would be read as the end of the log
  }
  position_ += size;
  total_ += size;
  return total_;
}

std::uint64_t SharedWal::append(const std::string& tenant, std::uint64_t offset, std::string_view frames, int journal_fd) {
  std::unique_lock lock(mutex_);
  const std::uint64_t ticket = append_locked(lock, kFramesKind, tenant, offset, frames);
  if (dirty_.count(tenant) == 0) {
    const int copy = ::dup(journal_fd);
    if (copy < 0) fail("cannot keep the journal of tenant \"" + tenant + "\" open for the next checkpoint");
    dirty_.emplace(tenant, copy);
  }
  return ticket;
}

void SharedWal::append_void_and_wait(const std::string& tenant) {
  std::uint64_t ticket = 0;
  {
    std::unique_lock lock(mutex_);
    ticket = append_locked(lock, kVoidKind, tenant, 0, {});
    if (auto it = dirty_.find(tenant); it != dirty_.end()) {
      ::close(it->second);  // the caller synced that journal itself
      dirty_.erase(it);
    }
  }
  wait(ticket);
}

void SharedWal::wait(std::uint64_t ticket) {
  std::unique_lock lock(mutex_);
  if (failed_) throw Error(ErrorCode::StorageFailure, failure_);
  if (durable_total_ >= ticket) return;
  const std::uint64_t goal = total_;
  if (!commit_.sync(lock, fd_, total_)) {
    if (!failed_) fail("cannot sync " + path_.string() + ": " + std::strerror(errno));
    throw Error(ErrorCode::StorageFailure, failure_);
  }
  durable_total_ = std::max(durable_total_, goal);
}

void SharedWal::checkpoint(bool scrub) {
  std::unique_lock lock(mutex_);
  if (failed_) throw Error(ErrorCode::StorageFailure, failure_);
  start_generation(lock, scrub);
}

}  // namespace tenantai::corpus::detail
