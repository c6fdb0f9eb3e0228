// FileCorpusStore: the embedded CorpusStore. One append-only journal per tenant,
// <root>/<tenant>.corpus (tenant ids are safe file names), versioned and checksummed per
// record; puts and removes are appended and made durable with group commit (concurrent writers
// of a tenant share one fdatasync). Records of tenants that ask for it are sealed with the
// tenant's key — text and vector alike, since embeddings can be inverted towards their text —
// so destroying the key shreds the corpus too. docs/corpus-format.md is the byte-level contract.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "tenantai/corpus/corpus_store.h"
#include "tenantai/crypto/sealer.h"

namespace tenantai::corpus {

namespace detail {
class SharedWal;
}

struct FileCorpusOptions {
  std::filesystem::path root;        // created if missing
  crypto::Sealer* sealer = nullptr;  // not owned; must outlive the store; required when `seal` says yes
  // Whether a tenant's new records are sealed (the platform asks the tenant's config). A
  // journal may mix sealed and clear records (a tenant that turned sealing on later).
  std::function<bool(const TenantId&)> seal = [](const TenantId&) { return false; };
  // The shared WAL's size before a checkpoint syncs the journals written behind it and starts
  // it over (larger: fewer journal syncs; replay after a crash reads at most this much).
  std::uint64_t wal_bytes = 256u << 20;
  // A journal is compacted once its dead bytes (replaced and removed records) reach this and
  // outweigh its live bytes.
  std::uint64_t compact_dead_bytes = 8u << 20;
};

// Thread-safe; tenants are independent (one lock and one journal each; the WAL is shared, so a
// failed WAL sync — a device failure — fails every tenant's writes). The constructor replays
// the WAL of a crashed run into the journals. A journal is opened and verified on its
// tenant's first use; one that fails stays failed (TenantUnavailable) until the store is
// constructed again, and no other tenant notices.
class FileCorpusStore final : public CorpusStore {
 public:
  // Replays the WAL a crash left. StorageFailure naming the root when it cannot be created, or
  // the WAL when it is damaged beyond its frames or already open in another store.
  explicit FileCorpusStore(FileCorpusOptions options);
  ~FileCorpusStore() override;
  FileCorpusStore(const FileCorpusStore&) = delete;
  FileCorpusStore& operator=(const FileCorpusStore&) = delete;

  // The journal of a tenant (for tools and tests).
  std::filesystem::path path_of(const TenantId& tenant) const;

  // Compacts the scope tenant's journal now, whatever its dead bytes; returns the bytes
  // reclaimed. Crash-safe (the old or the new journal survives, complete); other tenants'
  // writes continue meanwhile. StorageFailure, TenantUnavailable as for put().
  template <typename Tag>
  std::uint64_t compact(const TenantScope<Tag>& scope) {
    return do_compact(scope.context());
  }

 protected:
  std::size_t do_put(const TenantContext& context, const std::vector<CorpusDocument>& documents) override;
  std::size_t do_remove(const TenantContext& context, const std::vector<std::string>& ids) override;
  LoadReport do_load(const TenantContext& context, const std::function<void(CorpusDocument&&)>& sink) override;
  std::size_t do_erase_tenant(const TenantContext& context) override;

 private:
  class Journal;
  std::shared_ptr<Journal> journal_of(const TenantId& tenant);
  std::uint64_t do_compact(const TenantContext& context);
  void remove_unfinished_compactions();

  FileCorpusOptions options_;
  std::unique_ptr<detail::SharedWal> wal_;
  std::mutex journals_mutex_;
  std::unordered_map<TenantId, std::shared_ptr<Journal>> journals_;
};

}  // namespace tenantai::corpus
