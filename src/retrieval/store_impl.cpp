#include "retrieval/store_impl.h"

#include <limits>

#include "tenantai/core/system_scope.h"

namespace tenantai::retrieval {
namespace {

// save() and open() touch every tenant as one store-level operation of the host; the system
// scope they use only proves that to TenantPartitions and records nothing.
class DiscardingRecorder final : public AccessRecorder {
 public:
  void record(const AccessRecord&) override {}
};

SystemScope persistence_scope(AccessRecorder& recorder) {
  SystemScopeOptions options;
  options.max_visits = std::numeric_limits<std::size_t>::max();
  return SystemScope(recorder, "tenantai.retrieval", "save or open a vector store directory", options);
}

}  // namespace

VectorStore::Impl::Impl(const VectorStoreOptions& options)
    : options_(options), partitions_([this](const TenantId&) {
        return std::make_shared<Partition>(options_.dim, options_.metric);
      }) {}

VectorStore::Impl::~Impl() {
  {
    std::lock_guard lock(queue_mutex_);
    stop_ = true;
  }
  queue_cv_.notify_all();
  if (builder_.joinable()) builder_.join();
}

std::shared_ptr<VectorStore::Partition> VectorStore::Impl::find(const TenantContext& context) const {
  return with_tenant(context, [&](auto scope) { return partitions_.find(scope); });
}

std::shared_ptr<VectorStore::Partition> VectorStore::Impl::get_or_create(const TenantContext& context) {
  return with_tenant(context, [&](auto scope) { return partitions_.get_or_create(scope); });
}

std::shared_ptr<VectorStore::Partition> VectorStore::Impl::erase(const TenantContext& context) {
  return with_tenant(context, [&](auto scope) { return partitions_.erase(scope); });
}

std::shared_ptr<VectorStore::Partition> VectorStore::Impl::get_or_create(const TenantId& tenant) {
  DiscardingRecorder recorder;
  SystemScope system = persistence_scope(recorder);
  return system.visit(tenant, [&](auto scope) { return partitions_.get_or_create(scope); });
}

std::vector<std::pair<TenantId, std::shared_ptr<VectorStore::Partition>>> VectorStore::Impl::all() const {
  DiscardingRecorder recorder;
  SystemScope system = persistence_scope(recorder);
  std::vector<std::pair<TenantId, std::shared_ptr<Partition>>> out;
  for (const TenantId& tenant : partitions_.tenants(system)) {
    auto p = system.visit(tenant, [&](auto scope) { return partitions_.find(scope); });
    if (p) out.emplace_back(tenant, std::move(p));
  }
  return out;
}

void VectorStore::Impl::after_write(const std::shared_ptr<Partition>& partition) {
  if (!options_.ann.enabled) return;
  {
    std::shared_lock lock(partition->mutex);
    if (partition->dropped || partition->rows.size() < options_.ann.min_rows) return;
  }
  if (!options_.ann.background) {
    try {
      build_now(*partition);
    } catch (const Error&) {
      // The write itself succeeded; without an index the tenant is served by the exact scan.
    }
    return;
  }
  std::lock_guard lock(queue_mutex_);
  if (partition->build_queued || stop_) return;
  partition->build_queued = true;
  queue_.push_back(partition);
  if (!builder_.joinable()) builder_ = std::thread([this] { builder_loop(); });
  queue_cv_.notify_one();
}

bool VectorStore::Impl::build_now(Partition& partition) {
  std::vector<float> snapshot;
  std::uint64_t version = 0;
  std::size_t n = 0;
  {
    std::shared_lock lock(partition.mutex);
    if (partition.dropped || partition.rows.size() == 0) return false;
    if (partition.ann_fresh()) return true;
    n = partition.rows.size();
    snapshot.assign(partition.rows.vectors(), partition.rows.vectors() + n * options_.dim);
    version = partition.version;
  }
  auto index = detail::AnnIndex::build(snapshot.data(), n, options_.dim, options_.metric, options_.ann);
  std::unique_lock lock(partition.mutex);
  if (partition.dropped || partition.version != version) return false;
  partition.ann = std::move(index);
  partition.ann_version = version;
  ++partition.ann_builds;
  return true;
}

void VectorStore::Impl::builder_loop() {
  std::unique_lock lock(queue_mutex_);
  for (;;) {
    queue_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    auto partition = queue_.front().lock();
    queue_.pop_front();
    if (!partition) continue;
    partition->build_queued = false;
    busy_ = true;
    lock.unlock();
    bool installed = false;
    try {
      installed = build_now(*partition);
    } catch (const std::exception&) {
      installed = true;  // a factory FAISS rejects would fail again; queries keep the exact scan
    }
    bool again = false;
    if (!installed) {  // written meanwhile: build again while it is still large
      std::shared_lock plock(partition->mutex);
      again = !partition->dropped && partition->rows.size() >= options_.ann.min_rows && !partition->ann_fresh();
    }
    lock.lock();
    busy_ = false;
    if (again && !stop_ && !partition->build_queued) {
      partition->build_queued = true;
      queue_.push_back(partition);
    }
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

void VectorStore::Impl::wait_idle() {
  std::unique_lock lock(queue_mutex_);
  idle_cv_.wait(lock, [&] { return stop_ || (queue_.empty() && !busy_); });
}

}  // namespace tenantai::retrieval
