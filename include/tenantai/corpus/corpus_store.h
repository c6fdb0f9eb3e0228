// CorpusStore: the system of record for each tenant's documents and their vectors. The
// VectorStore and DocumentLibrary are in-memory indexes of it, filled from it when a tenant is
// first used after a start. The embedded default is FileCorpusStore (one journal file per
// tenant under data_dir); a host can plug in its own (the cluster profile's PostgreSQL).
//
//   with_tenant(ctx, [&](auto scope) {
//     corpus.put(scope, {document});                      // durable when it returns
//     corpus.load(scope, [&](CorpusDocument&& d) { ... });  // every live document, for restart
//   });
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/core/scope.h"
#include "tenantai/retrieval/document.h"

namespace tenantai::corpus {

// One document as the corpus keeps it. Plain value type.
struct CorpusDocument {
  std::string id;                       // unique inside the tenant, 1..256 bytes
  std::string title;
  std::string text;
  std::vector<std::string> acl_groups;  // empty: every actor of the tenant
  retrieval::Metadata metadata;
  std::vector<float> vector;            // the embedding of title + text
};

// What load() found besides the documents.
struct LoadReport {
  std::size_t documents = 0;        // live documents handed to the callback
  std::size_t records = 0;          // records replayed (puts and removes)
  std::size_t torn_bytes_cut = 0;   // an incomplete tail (a crash mid-append) cut back, reported
};

// The digest that makes put() idempotent: BLAKE2b-256 of the document's canonical encoding
// (id, title, text, canonical ACL set, metadata, vector bytes), lower-case hex. Never throws
// except std::bad_alloc.
std::string content_digest(const CorpusDocument& document);

// Thread-safe implementations required: any number of tenants' requests call concurrently.
// Every failure is thrown as tenantai::Error and leaves the corpus as it was.
class CorpusStore {
 public:
  virtual ~CorpusStore() = default;

  // Stores (or replaces, by id) documents of the scope's tenant; returns when they are durable
  // (concurrent puts share one flush). Idempotent: a document whose id and content_digest equal
  // the stored one is not written again. Returns how many were written. StorageFailure,
  // CryptoFailure (sealing with a destroyed key), TenantUnavailable (damaged corpus).
  template <typename Tag>
  std::size_t put(const TenantScope<Tag>& scope, const std::vector<CorpusDocument>& documents) {
    return do_put(scope.context(), documents);
  }

  // Removes documents by id, durably; returns how many existed.
  template <typename Tag>
  std::size_t remove(const TenantScope<Tag>& scope, const std::vector<std::string>& ids) {
    return do_remove(scope.context(), ids);
  }

  // Hands every live document of the scope's tenant to `sink` (in no particular order) and
  // reports what it found. A torn tail is cut back and reported; anything else damaged (a
  // corrupt record in the middle, an unknown format version, another tenant's file) throws
  // TenantUnavailable naming the tenant, the file and the offset — never a silent skip.
  template <typename Tag>
  LoadReport load(const TenantScope<Tag>& scope, const std::function<void(CorpusDocument&&)>& sink) {
    return do_load(scope.context(), sink);
  }

  // Deletes the scope tenant's whole corpus (offboarding). Returns the documents it held.
  template <typename Tag>
  std::size_t erase_tenant(const TenantScope<Tag>& scope) {
    return do_erase_tenant(scope.context());
  }

 protected:
  virtual std::size_t do_put(const TenantContext& context, const std::vector<CorpusDocument>& documents) = 0;
  virtual std::size_t do_remove(const TenantContext& context, const std::vector<std::string>& ids) = 0;
  virtual LoadReport do_load(const TenantContext& context, const std::function<void(CorpusDocument&&)>& sink) = 0;
  virtual std::size_t do_erase_tenant(const TenantContext& context) = 0;
};

}  // namespace tenantai::corpus
