// Internal: what a VectorStore holds — its tenant partitions and the background ANN builder.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "retrieval/ann_index.h"
#include "retrieval/tenant_rows.h"
#include "tenantai/core/tenant_partitions.h"
#include "tenantai/retrieval/vector_store.h"

namespace tenantai::retrieval {

// One tenant's partition. `mutex` guards everything but the builder flag.
struct VectorStore::Partition {
  Partition(std::size_t dim, Metric metric) : rows(dim, metric) {}

  mutable std::shared_mutex mutex;
  detail::TenantRows rows;
  std::atomic<bool> dropped{false};  // set by drop_tenant; writers holding a stale pointer retry
  std::uint64_t version = 0;   // bumped by every write
  std::shared_ptr<const detail::AnnIndex> ann;
  std::uint64_t ann_version = 0;  // version the index was built from
  std::size_t ann_builds = 0;
  mutable std::atomic<std::size_t> ann_queries{0};
  mutable std::atomic<std::size_t> exact_queries{0};
  bool build_queued = false;   // guarded by Impl::queue_mutex_

  bool ann_fresh() const noexcept { return ann != nullptr && ann_version == version && ann->rows() == rows.size(); }
};

class VectorStore::Impl {
 public:
  explicit Impl(const VectorStoreOptions& options);
  ~Impl();

  std::shared_ptr<Partition> find(const TenantContext& context) const;
  std::shared_ptr<Partition> get_or_create(const TenantContext& context);
  std::shared_ptr<Partition> get_or_create(const TenantId& tenant);  // open(): through a SystemScope
  std::shared_ptr<Partition> erase(const TenantContext& context);
  std::vector<std::pair<TenantId, std::shared_ptr<Partition>>> all() const;  // save(): through a SystemScope
  std::size_t tenant_count() const { return partitions_.size(); }

  // Called after a write to `partition` (no lock held): schedules or runs an ANN build when the
  // tenant is large enough.
  void after_write(const std::shared_ptr<Partition>& partition);
  // Builds from a snapshot and installs the index if no write happened meanwhile.
  bool build_now(Partition& partition);
  void wait_idle();

 private:
  void builder_loop();

  const VectorStoreOptions& options_;
  mutable TenantPartitions<Partition> partitions_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::condition_variable idle_cv_;
  std::deque<std::weak_ptr<Partition>> queue_;
  bool stop_ = false;
  bool busy_ = false;
  std::thread builder_;  // started on the first scheduled build
};

}  // namespace tenantai::retrieval
