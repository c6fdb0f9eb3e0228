#include "tenantai/retrieval/vector_store.h"

#include <Eigen/Dense>

#include <algorithm>
#include <bit>
#include <mutex>
#include <shared_mutex>
#include <unordered_set>

#include "retrieval/store_impl.h"
#include "retrieval/validation.h"

namespace tenantai::retrieval {
namespace {

std::vector<Hit> to_hits(const detail::TenantRows& rows, detail::TopK& top, Metric metric) {
  std::vector<Hit> hits;
  auto best = top.take_sorted();
  hits.reserve(best.size());
  for (const auto& [score, row] : best) hits.push_back({rows.id(row), metric == Metric::L2 ? -score : score});
  return hits;
}

bool visible(const detail::RowMask& mask, std::size_t row) noexcept {
  return mask.all || ((mask.words[row / 64] >> (row % 64)) & 1u) != 0;
}

}  // namespace

std::string_view to_string(Metric metric) noexcept {
  switch (metric) {
    case Metric::InnerProduct: return "inner_product";
    case Metric::Cosine: return "cosine";
    case Metric::L2: return "l2";
  }
  return "unknown";
}

VectorStore::VectorStore(VectorStoreOptions options) : options_(std::move(options)) {
  detail::validate_options(options_);
  if (options_.ann.enabled) detail::AnnIndex::check_factory(options_.dim, options_.metric, options_.ann.factory);
  impl_ = std::make_unique<Impl>(options_);
}

VectorStore::~VectorStore() = default;

std::size_t VectorStore::write_impl(const TenantContext& context, std::vector<Document> documents, WriteMode mode) {
  for (Document& d : documents) detail::prepare_document(d, options_);
  if (documents.size() > 1) {
    std::unordered_set<std::string_view> seen;
    seen.reserve(documents.size());
    for (const Document& d : documents) {
      if (!seen.insert(d.id).second) {
        throw Error(ErrorCode::InvalidArgument,
                    "document id \"" + escape_for_message(d.id) + "\" appears twice in one batch");
      }
    }
  }
  for (;;) {
    auto partition = impl_->get_or_create(context);
    std::size_t replaced = 0;
    {
      std::unique_lock lock(partition->mutex);
      if (partition->dropped) continue;  // dropped between lookup and lock: use the new partition
      detail::TenantRows& rows = partition->rows;
      std::size_t added = documents.size();
      for (const Document& d : documents) {
        if (rows.find(d.id) == detail::IdIndex::kNone) continue;
        if (mode == WriteMode::Insert) {
          throw Error(ErrorCode::AlreadyExists, "document \"" + escape_for_message(d.id) + "\" already exists in tenant \"" +
                                                    context.tenant().str() + "\"");
        }
        --added;
      }
      rows.reserve_more(added);
      for (Document& d : documents) {
        const std::uint32_t row = rows.find(d.id);
        if (row == detail::IdIndex::kNone) {
          rows.append(std::move(d));
        } else {
          rows.replace(row, std::move(d));
          ++replaced;
        }
      }
      ++partition->version;
    }
    impl_->after_write(partition);
    return replaced;
  }
}

bool VectorStore::remove_impl(const TenantContext& context, std::string_view id) {
  auto partition = impl_->find(context);
  if (!partition) return false;
  {
    std::unique_lock lock(partition->mutex);
    if (partition->dropped) return false;
    const std::uint32_t row = partition->rows.find(id);
    if (row == detail::IdIndex::kNone) return false;
    partition->rows.remove(row);
    ++partition->version;
  }
  impl_->after_write(partition);
  return true;
}

bool VectorStore::drop_impl(const TenantContext& context) {
  auto partition = impl_->erase(context);  // from here on, new queries do not find it
  if (!partition) return false;
  // No lock: a write that already holds the partition completes into it and is dropped with it
  // (it is ordered before the drop); later writes see the flag and use a fresh partition.
  partition->dropped.store(true);
  return true;  // the memory goes when the last query still using it ends (often: here)
}

std::vector<Hit> VectorStore::search_impl(const TenantContext& context, std::span<const float> query, std::size_t k,
                                          const Filter& filter, Plan plan) const {
  detail::validate_k(k, options_);
  detail::validate_filter(filter, options_);
  const std::vector<float> q = detail::prepare_query(query, options_);
  auto partition = impl_->find(context);
  if (!partition) return {};
  std::shared_lock lock(partition->mutex);
  if (partition->dropped) return {};
  const detail::TenantRows& rows = partition->rows;
  const detail::RowMask mask = rows.visibility(context, filter);
  const std::size_t want = std::min(k, mask.visible);
  if (want == 0) return {};

  if (plan == Plan::Auto && partition->ann_fresh() &&
      static_cast<double>(mask.visible) >= options_.ann.min_visible_fraction * static_cast<double>(rows.size())) {
    detail::TopK top(want);
    const std::size_t candidates = std::max(k * options_.ann.candidate_factor, k);
    for (std::int64_t label : partition->ann->candidates(q.data(), candidates, mask.all ? nullptr : mask.words.data(),
                                                         mask.words.size())) {
      const auto row = static_cast<std::uint32_t>(label);
      if (row < rows.size() && visible(mask, row)) top.push(rows.score(q.data(), row), row);
    }
    if (top.size() == want) {
      partition->ann_queries.fetch_add(1, std::memory_order_relaxed);
      return to_hits(rows, top, options_.metric);
    }
    // The index returned too few visible rows (a selective filter): the exact scan is complete.
  }
  detail::TopK top(want);
  rows.scan(q.data(), mask, top);
  partition->exact_queries.fetch_add(1, std::memory_order_relaxed);
  return to_hits(rows, top, options_.metric);
}

std::vector<std::vector<Hit>> VectorStore::search_batch_impl(const TenantContext& context,
                                                             std::span<const float> queries, std::size_t k,
                                                             const Filter& filter) const {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  detail::validate_k(k, options_);
  detail::validate_filter(filter, options_);
  const std::size_t dim = options_.dim;
  if (queries.empty() || queries.size() % dim != 0) {
    throw Error(ErrorCode::InvalidArgument, "a query batch must hold a positive multiple of " + std::to_string(dim) +
                                                " floats, got " + std::to_string(queries.size()));
  }
  const std::size_t m = queries.size() / dim;
  std::vector<float> qs;
  qs.reserve(queries.size());
  for (std::size_t i = 0; i < m; ++i) {
    auto q = detail::prepare_query(queries.subspan(i * dim, dim), options_);
    qs.insert(qs.end(), q.begin(), q.end());
  }
  std::vector<std::vector<Hit>> results(m);
  auto partition = impl_->find(context);
  if (!partition) return results;
  std::shared_lock lock(partition->mutex);
  if (partition->dropped) return results;
  const detail::TenantRows& rows = partition->rows;
  const detail::RowMask mask = rows.visibility(context, filter);
  const std::size_t want = std::min(k, mask.visible);
  if (want == 0) return results;

  const auto mi = static_cast<Eigen::Index>(m);
  const auto di = static_cast<Eigen::Index>(dim);
  Eigen::Map<const RowMajor> Q(qs.data(), mi, di);
  const Eigen::VectorXf q_norms = Q.rowwise().squaredNorm();
  std::vector<detail::TopK> tops(m, detail::TopK(want));
  constexpr std::size_t kBlock = 1024;
  RowMajor scores;
  for (std::size_t first = 0; first < rows.size(); first += kBlock) {
    const std::size_t count = std::min(kBlock, rows.size() - first);
    Eigen::Map<const RowMajor> X(rows.vector(static_cast<std::uint32_t>(first)), static_cast<Eigen::Index>(count), di);
    scores.noalias() = Q * X.transpose();
    if (options_.metric == Metric::L2) {  // -(|q|^2 - 2 q.x + |x|^2), higher is better
      const Eigen::RowVectorXf x_norms = X.rowwise().squaredNorm().transpose();
      scores = (2.f * scores).colwise() - q_norms;
      scores.rowwise() -= x_norms;
    }
    for (std::size_t i = 0; i < m; ++i) {
      const float* s = scores.data() + i * count;
      for (std::size_t j = 0; j < count; ++j) {
        if (visible(mask, first + j)) tops[i].push(s[j], static_cast<std::uint32_t>(first + j));
      }
    }
  }
  for (std::size_t i = 0; i < m; ++i) results[i] = to_hits(rows, tops[i], options_.metric);
  return results;
}

TenantStats VectorStore::stats_impl(const TenantContext& context) const {
  TenantStats s;
  auto partition = impl_->find(context);
  if (!partition) return s;
  std::shared_lock lock(partition->mutex);
  if (partition->dropped) return s;
  s.documents = partition->rows.size();
  s.capacity_rows = partition->rows.capacity_rows();
  s.vector_bytes = partition->rows.vector_bytes();
  // Plus the tenant's entry in the partition map (node, id, shared_ptr control block): ~96 B.
  s.total_bytes = partition->rows.total_bytes() + sizeof(Partition) - sizeof(detail::TenantRows) + 96;
  s.acl_groups = partition->rows.acl_group_count();
  s.ann_ready = partition->ann_fresh();
  s.ann_builds = partition->ann_builds;
  s.ann_queries = partition->ann_queries.load(std::memory_order_relaxed);
  s.exact_queries = partition->exact_queries.load(std::memory_order_relaxed);
  return s;
}

bool VectorStore::build_ann_impl(const TenantContext& context) {
  if (!options_.ann.enabled) return false;
  auto partition = impl_->find(context);
  if (!partition) return false;
  return impl_->build_now(*partition);
}

void VectorStore::wait_for_ann_builds() const { impl_->wait_idle(); }

std::size_t VectorStore::tenant_count() const { return impl_->tenant_count(); }

}  // namespace tenantai::retrieval
