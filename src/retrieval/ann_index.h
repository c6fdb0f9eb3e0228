// Internal: one tenant's FAISS index over a snapshot of its rows (labels = row numbers at
// build time). Immutable once built; search is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tenantai/retrieval/vector_store_options.h"

namespace faiss {
struct Index;
}

namespace tenantai::retrieval::detail {

class AnnIndex {
 public:
  // Builds from n rows of dim floats. Unavailable when FAISS rejects the factory string or
  // the build fails.
  static std::shared_ptr<const AnnIndex> build(const float* vectors, std::size_t n, std::size_t dim, Metric metric,
                                               const AnnOptions& options);
  // InvalidArgument when FAISS cannot make an index of `factory` for this dimension.
  static void check_factory(std::size_t dim, Metric metric, const std::string& factory);
  ~AnnIndex();
  AnnIndex(const AnnIndex&) = delete;
  AnnIndex& operator=(const AnnIndex&) = delete;

  // Up to `want` candidate rows for `query`, restricted to rows whose bit is set in `mask`
  // (nullptr: all rows). Order is FAISS's; callers re-rank exactly.
  std::vector<std::int64_t> candidates(const float* query, std::size_t want, const std::uint64_t* mask,
                                       std::size_t mask_words) const;

  std::size_t rows() const noexcept { return rows_; }

 private:
  AnnIndex() = default;
  std::unique_ptr<faiss::Index> index_;
  std::size_t rows_ = 0;
  bool ivf_ = false;
  bool hnsw_ = false;
  int ef_search_ = 16;
  int nprobe_ = 1;
};

}  // namespace tenantai::retrieval::detail
