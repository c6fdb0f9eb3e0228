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

struct FileCorpusOptions {
  std::filesystem::path root;        // created if missing
  crypto::Sealer* sealer = nullptr;  // not owned; must outlive the store; required when `seal` says yes
  // Whether a tenant's new records are sealed (the platform asks the tenant's config). A
  // journal may mix sealed and clear records (a tenant that turned sealing on later).
  std::function<bool(const TenantId&)> seal = [](const TenantId&) { return false; };
};

// Thread-safe; tenants are independent (one lock and one file each). A journal is opened and
// verified on its tenant's first use; one that fails stays failed (TenantUnavailable) until
// the store is constructed again, and no other tenant notices.
class FileCorpusStore final : public CorpusStore {
 public:
  // StorageFailure naming the root when it cannot be created.
  explicit FileCorpusStore(FileCorpusOptions options);
  ~FileCorpusStore() override;
  FileCorpusStore(const FileCorpusStore&) = delete;
  FileCorpusStore& operator=(const FileCorpusStore&) = delete;

  // The journal of a tenant (for tools and tests).
  std::filesystem::path path_of(const TenantId& tenant) const;

 protected:
  std::size_t do_put(const TenantContext& context, const std::vector<CorpusDocument>& documents) override;
  std::size_t do_remove(const TenantContext& context, const std::vector<std::string>& ids) override;
  LoadReport do_load(const TenantContext& context, const std::function<void(CorpusDocument&&)>& sink) override;
  std::size_t do_erase_tenant(const TenantContext& context) override;

 private:
  class Journal;
  std::shared_ptr<Journal> journal_of(const TenantId& tenant);

  FileCorpusOptions options_;
  std::mutex journals_mutex_;
  std::unordered_map<TenantId, std::shared_ptr<Journal>> journals_;
};

}  // namespace tenantai::corpus
