// VectorStore: one shared store, one partition per tenant. Each tenant's vectors live in their
// own contiguous block (size-classed, so a 3-vector tenant holds a small block); a query scans
// only its own tenant's block — there is no code path that scans another tenant and filters
// after. Inside a tenant, the actor's ACL groups (from the TenantContext) and the metadata
// filter become a bitmap over the tenant's rows, and the scan skips 64 rows per zero word.
// Tenants at least AnnOptions::min_rows large also get a FAISS index of their own.
//
//   VectorStoreOptions options;
//   options.dim = 384;
//   options.metric = Metric::Cosine;
//   VectorStore store(options);
//   with_tenant(ctx, [&](auto scope) {
//     store.add(scope, {.id = "doc-1", .vector = v, .acl_groups = {"legal"}});
//     auto hits = store.search(scope, query, 8, Filter{}.equals("lang", "en"));
//     return scope.release(hits);
//   });
//
// Thread-safety: every method is thread-safe. Each tenant has its own reader/writer lock;
// queries of different tenants share no lock except the sharded, read-mostly tenant lookup,
// and many queries of one tenant run in parallel with each other (writers of that tenant wait
// for them and vice versa).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/core/error.h"
#include "tenantai/core/scope.h"
#include "tenantai/retrieval/document.h"
#include "tenantai/retrieval/vector_store_options.h"

namespace tenantai::retrieval {

// How a query may be answered.
enum class Plan {
  Auto,   // the ANN index when fresh and enough rows are visible, else the exact scan
  Exact,  // always the exact scan
};

class VectorStore {
 public:
  // InvalidArgument for a zero/oversized dim or inconsistent options.
  explicit VectorStore(VectorStoreOptions options);
  // Stops the background ANN builder (waits for a build in progress).
  ~VectorStore();
  VectorStore(const VectorStore&) = delete;
  VectorStore& operator=(const VectorStore&) = delete;

  const VectorStoreOptions& options() const noexcept { return options_; }

  // ---- writes ---------------------------------------------------------------------------
  // Adds one document to the scope's tenant. AlreadyExists when the id is taken; InvalidArgument
  // (naming the document id and the problem) for a bad id, wrong dimension, non-finite values,
  // too many groups / metadata entries. On any error nothing changes.
  template <typename Tag>
  void add(const TenantScope<Tag>& scope, Document document) {
    std::vector<Document> one;
    one.push_back(std::move(document));
    write_impl(scope.context(), std::move(one), WriteMode::Insert);
  }

  // Adds many documents at once, all or nothing: every document is validated (including ids
  // duplicated inside the batch) before any is stored. Cheaper than repeated add().
  template <typename Tag>
  void add_batch(const TenantScope<Tag>& scope, std::vector<Document> documents) {
    write_impl(scope.context(), std::move(documents), WriteMode::Insert);
  }

  // Inserts or replaces (vector, groups and metadata) the document with this id. Returns true
  // when it replaced an existing document. Validation as add().
  template <typename Tag>
  bool upsert(const TenantScope<Tag>& scope, Document document) {
    std::vector<Document> one;
    one.push_back(std::move(document));
    return write_impl(scope.context(), std::move(one), WriteMode::Upsert) > 0;
  }

  // Removes the document with this id from the scope's tenant; false when there is none.
  template <typename Tag>
  bool remove(const TenantScope<Tag>& scope, std::string_view id) {
    return remove_impl(scope.context(), id);
  }

  // Drops every document of the scope's tenant. Invisible to queries that start after the call
  // returns (the partition is unlinked in O(1), without waiting for running queries); its memory
  // (vectors, ids, ANN index) is freed by whichever thread lets go of it last. A write racing
  // with the drop is ordered either before it (and dropped with it) or after it (into a fresh,
  // empty partition). Returns false when the tenant had no partition.
  template <typename Tag>
  bool drop_tenant(const TenantScope<Tag>& scope) {
    return drop_impl(scope.context());
  }

  // ---- reads ----------------------------------------------------------------------------
  // The min(k, visible) best documents of the scope's tenant for `query` that the actor may
  // see (ACL) and that match `filter`, best first. Visible = the document has no ACL groups or
  // shares one with the actor's groups. InvalidArgument for a wrong dimension, non-finite
  // query, k = 0 or k > max_k, a bad filter. An unknown tenant simply has no documents.
  template <typename Tag>
  Scoped<std::vector<Hit>, Tag> search(const TenantScope<Tag>& scope, std::span<const float> query,
                                       std::size_t k, const Filter& filter = {},
                                       Plan plan = Plan::Auto) const {
    return scope.bind(search_impl(scope.context(), query, k, filter, plan));
  }

  // As above for a query vector bound to the scope (an embedding computed inside it).
  // IsolationViolation when the value belongs to another tenant (same call site, other run).
  template <typename Tag>
  Scoped<std::vector<Hit>, Tag> search(const TenantScope<Tag>& scope, const Scoped<std::vector<float>, Tag>& query,
                                       std::size_t k, const Filter& filter = {}, Plan plan = Plan::Auto) const {
    return search(scope, std::span<const float>(scope.view(query)), k, filter, plan);
  }

  // Many queries of one tenant at once (`queries` holds n * dim floats, row-major): scored
  // with one matrix product per block of rows (Eigen GEMM), exact. Result i answers query i.
  template <typename Tag>
  Scoped<std::vector<std::vector<Hit>>, Tag> search_batch(const TenantScope<Tag>& scope,
                                                          std::span<const float> queries, std::size_t k,
                                                          const Filter& filter = {}) const {
    return scope.bind(search_batch_impl(scope.context(), queries, k, filter));
  }

  // Statistics of the scope's tenant (all zero when it has no partition).
  template <typename Tag>
  Scoped<TenantStats, Tag> stats(const TenantScope<Tag>& scope) const {
    return scope.bind(stats_impl(scope.context()));
  }

  // Builds the tenant's ANN index now, in the calling thread, whatever its size (tests,
  // benchmarks, warm-up after open()). Returns false when the tenant has no documents or ANN is
  // disabled. Unavailable when FAISS rejects the factory string.
  template <typename Tag>
  bool build_ann(const TenantScope<Tag>& scope) {
    return build_ann_impl(scope.context());
  }

  // Waits until no ANN build is queued or running (tests, benchmarks).
  void wait_for_ann_builds() const;

  // Number of tenants with a partition (no names: enumerating tenants is cross-tenant).
  std::size_t tenant_count() const;

  // ---- persistence ----------------------------------------------------------------------
  // Writes the whole store into `directory` (created if missing): one checksummed file per
  // tenant plus a manifest, each written to a temporary file, fsynced and renamed, the manifest
  // last, so a crash leaves either the previous save or the new one. Files of the previous
  // save are removed after the new manifest is in place. Tenants are written one at a time
  // under their read lock (writes to other tenants continue). StorageFailure naming the path
  // on any I/O error. ANN indexes are not saved (they are rebuilt after open()).
  void save(const std::string& directory) const;

  // Opens a store saved by save(). StorageFailure (missing, truncated or malformed file) or
  // Tampered (checksum mismatch), naming the file; never a partial store. `ann` replaces the
  // saved ANN options (they are host configuration, not data).
  static std::unique_ptr<VectorStore> open(const std::string& directory, const AnnOptions& ann = {});

 private:
  enum class WriteMode { Insert, Upsert };
  struct Partition;
  class Impl;

  std::size_t write_impl(const TenantContext& context, std::vector<Document> documents, WriteMode mode);
  bool remove_impl(const TenantContext& context, std::string_view id);
  bool drop_impl(const TenantContext& context);
  std::vector<Hit> search_impl(const TenantContext& context, std::span<const float> query, std::size_t k,
                               const Filter& filter, Plan plan) const;
  std::vector<std::vector<Hit>> search_batch_impl(const TenantContext& context, std::span<const float> queries,
                                                  std::size_t k, const Filter& filter) const;
  TenantStats stats_impl(const TenantContext& context) const;
  bool build_ann_impl(const TenantContext& context);

  VectorStoreOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tenantai::retrieval
