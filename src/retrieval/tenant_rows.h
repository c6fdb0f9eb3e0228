// Internal: the rows of one tenant — vectors in one size-classed contiguous block, ids, ACL
// bitmaps and metadata — and the exact scan over them. Not thread-safe: the owning partition's
// reader/writer lock guards every call.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "retrieval/id_index.h"
#include "retrieval/row_block.h"
#include "retrieval/top_k.h"
#include "tenantai/core/tenant_context.h"
#include "tenantai/retrieval/document.h"
#include "tenantai/retrieval/vector_store_options.h"

namespace tenantai::retrieval::detail {

// Which rows one query may see: `all` (no ACL in use, no filter) or a bitmap over the rows,
// bit r of words[r / 64]; bits at or past the row count are zero.
struct RowMask {
  bool all = true;
  std::vector<std::uint64_t> words;
  std::size_t visible = 0;
};

class TenantRows {
 public:
  TenantRows(std::size_t dim, Metric metric);
  TenantRows(const TenantRows&) = delete;
  TenantRows& operator=(const TenantRows&) = delete;

  std::size_t size() const noexcept { return ids_.size(); }
  std::size_t dim() const noexcept { return dim_; }
  std::uint32_t find(std::string_view id) const noexcept { return index_.find(id); }
  const std::string& id(std::uint32_t row) const noexcept { return ids_[row]; }
  const float* vector(std::uint32_t row) const noexcept { return block_.row(row); }
  const float* vectors() const noexcept { return block_.data(); }

  // Makes room for `extra` more rows in one step (batch adds).
  void reserve_more(std::size_t extra);
  // Stores a validated document (vector already normalised for Cosine) as a new row.
  void append(Document&& document);
  // Replaces the vector, ACL groups and metadata of `row` (id unchanged).
  void replace(std::uint32_t row, Document&& document);
  // Removes `row`; the last row moves into its place.
  void remove(std::uint32_t row);

  // Rows visible to `context` (ACL) and matching `filter`. The filter must be validated.
  RowMask visibility(const TenantContext& context, const Filter& filter) const;

  // Exact scan of the visible rows; scores in "higher is better" form (L2 negated).
  void scan(const float* query, const RowMask& mask, TopK& top) const;
  // Exact score of one row, same form as scan().
  float score(const float* query, std::uint32_t row) const noexcept;

  // The stored document of `row` (for persistence).
  Document document(std::uint32_t row) const;

  std::size_t capacity_rows() const noexcept { return block_.capacity(); }
  std::size_t vector_bytes() const noexcept { return block_.bytes(); }
  std::size_t total_bytes() const noexcept;
  std::size_t acl_group_count() const noexcept { return acl_ ? acl_->names.size() : 0; }

 private:
  struct Extras {
    std::vector<std::uint32_t> groups;                               // sorted group numbers
    std::vector<std::pair<std::string, MetadataValue>> metadata;    // sorted by key
  };

  std::unique_ptr<Extras> make_extras(Document& document);
  void set_acl_bits(std::uint32_t row, const Extras* extras, bool on);
  void ensure_words(std::size_t rows);
  static bool matches(const Extras* extras, const Filter& filter);

  std::size_t dim_;
  Metric metric_;
  RowBlock block_;
  std::vector<std::string> ids_;
  IdIndex index_{ids_};
  std::vector<std::unique_ptr<Extras>> extras_;  // null: no ACL groups and no metadata
  // ACL groups in use, allocated with the first document that names one (keeps an empty or
  // ACL-free tenant small).
  struct AclState {
    std::size_t acl_rows = 0;  // rows with at least one ACL group
    std::vector<std::string> names;
    std::unordered_map<std::string, std::uint32_t> numbers;
    std::vector<std::vector<std::uint64_t>> bits;  // per group: rows that name it
  };
  std::size_t acl_rows() const noexcept { return acl_ ? acl_->acl_rows : 0; }
  std::unique_ptr<AclState> acl_;
  std::vector<std::uint64_t> public_bits_;  // rows without ACL groups
};

}  // namespace tenantai::retrieval::detail
