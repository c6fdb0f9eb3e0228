// Options of a VectorStore and its ANN tier; per-tenant statistics.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tenantai::retrieval {

// Similarity metric of a store (fixed at construction).
enum class Metric {
  InnerProduct,  // score = <q, x>, higher is better
  Cosine,        // vectors and queries are normalised on entry; score = cosine, higher is better
  L2,            // score = squared Euclidean distance, lower is better
};
std::string_view to_string(Metric metric) noexcept;

// The approximate (FAISS) tier a large tenant gets. A tenant with at least `min_rows`
// documents gets its own index, built from a snapshot of its rows by one background thread
// per store (never one per tenant). Any write to the tenant makes its index stale: queries
// use the exact scan until the rebuild that the write schedules is installed.
struct AnnOptions {
  bool enabled = true;
  std::size_t min_rows = 50'000;          // tenants at least this large get an index
  // faiss::index_factory string. IVF1024,Flat is the default because it met both bars in
  // retrieval_bench (500k x 384: recall@10 1.0, 8.2x the exact scan, 100 s build on 2 cores)
  // while HNSW32,Flat built 5x fewer rows in 225 s and reached recall 0.94 at efSearch 128.
  // IVF needs at least nlist rows to train; a tenant too small for it stays on the exact scan.
  std::string factory = "IVF1024,Flat";
  int hnsw_ef_search = 128;               // set on the index (FAISS 1.7.3 ignores per-query efSearch)
  int ivf_nprobe = 32;                    // for IVF factories
  // The planner uses the index only when at least this fraction of the tenant's rows is visible
  // to the query (ACL ∩ filter); below it the exact scan is both faster and complete.
  double min_visible_fraction = 0.3;
  // Candidates asked from the index per query: max(k * candidate_factor, k); re-ranked exactly.
  std::size_t candidate_factor = 2;
  bool background = true;                 // false: builds run inside the write that triggers them
};

// Options of a VectorStore. Validated by the constructor (InvalidArgument on bad values).
struct VectorStoreOptions {
  std::size_t dim = 0;                    // vector dimension, 1..65536
  Metric metric = Metric::InnerProduct;
  std::size_t max_id_bytes = 256;
  std::size_t max_acl_groups = 64;        // per document
  std::size_t max_metadata_entries = 16;  // per document
  std::size_t max_metadata_bytes = 256;   // per key and per string value
  std::size_t max_k = 10'000;             // larger k → InvalidArgument
  AnnOptions ann;
};

// Facts about one tenant's partition.
struct TenantStats {
  std::size_t documents = 0;       // live documents
  std::size_t capacity_rows = 0;   // rows the vector block can hold (size class ≥ documents)
  std::size_t vector_bytes = 0;    // bytes of the vector block (capacity_rows * dim * 4)
  std::size_t total_bytes = 0;     // estimate of all memory the tenant's partition holds
  std::size_t acl_groups = 0;      // distinct ACL groups used by its documents
  bool ann_ready = false;          // a fresh ANN index is installed
  std::size_t ann_builds = 0;      // ANN indexes installed so far
  std::size_t ann_queries = 0;     // queries the ANN index answered (Plan::Auto)
  std::size_t exact_queries = 0;   // queries the exact scan answered (including ANN fall-backs)
};

}  // namespace tenantai::retrieval
