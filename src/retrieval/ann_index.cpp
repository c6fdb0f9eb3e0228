#include "retrieval/ann_index.h"

#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/HNSW.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_factory.h>

#include <string>

#include "tenantai/core/error.h"

namespace tenantai::retrieval::detail {

AnnIndex::~AnnIndex() = default;

void AnnIndex::check_factory(std::size_t dim, Metric metric, const std::string& factory) {
  try {
    std::unique_ptr<faiss::Index> probe(faiss::index_factory(
        static_cast<int>(dim), factory.c_str(), metric == Metric::L2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT));
  } catch (const faiss::FaissException& e) {
    throw Error(ErrorCode::InvalidArgument, "ann.factory \"" + factory + "\" is not a FAISS index for dimension " +
                                                std::to_string(dim) + ": " + e.what());
  }
}

std::shared_ptr<const AnnIndex> AnnIndex::build(const float* vectors, std::size_t n, std::size_t dim, Metric metric,
                                                const AnnOptions& options) {
  std::shared_ptr<AnnIndex> out(new AnnIndex());
  const faiss::MetricType faiss_metric = metric == Metric::L2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
  try {
    out->index_.reset(faiss::index_factory(static_cast<int>(dim), options.factory.c_str(), faiss_metric));
    if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(out->index_.get())) {
      hnsw->hnsw.efSearch = options.hnsw_ef_search;  // per-query efSearch is ignored in FAISS 1.7.3
      out->hnsw_ = true;
      out->ef_search_ = options.hnsw_ef_search;
    }
    if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(out->index_.get())) {
      out->ivf_ = true;
      out->nprobe_ = options.ivf_nprobe;
      ivf->nprobe = static_cast<std::size_t>(options.ivf_nprobe);
    }
    const auto rows = static_cast<faiss::Index::idx_t>(n);
    if (!out->index_->is_trained) out->index_->train(rows, vectors);
    out->index_->add(rows, vectors);
  } catch (const faiss::FaissException& e) {
    throw Error(ErrorCode::Unavailable, "FAISS could not build an index \"" + options.factory + "\": " + e.what());
  }
  out->rows_ = n;
  return out;
}

std::vector<std::int64_t> AnnIndex::candidates(const float* query, std::size_t want, const std::uint64_t* mask,
                                               std::size_t mask_words) const {
  std::vector<float> distances(want);
  std::vector<faiss::Index::idx_t> labels(want, -1);
  // Bit i of byte i/8 is bit i of word i/64 on a little-endian machine: FAISS reads the words
  // in place.
  faiss::IDSelectorBitmap selector(mask_words * 8, reinterpret_cast<const std::uint8_t*>(mask));
  faiss::SearchParametersIVF ivf_params;
  faiss::SearchParametersHNSW hnsw_params;
  faiss::SearchParameters plain_params;  // IndexHNSW rejects the plain base type
  faiss::SearchParameters* params = nullptr;
  if (ivf_) {
    ivf_params.nprobe = static_cast<std::size_t>(nprobe_);
    if (mask != nullptr) ivf_params.sel = &selector;
    params = &ivf_params;
  } else if (hnsw_) {
    hnsw_params.efSearch = ef_search_;
    if (mask != nullptr) hnsw_params.sel = &selector;
    params = &hnsw_params;
  } else if (mask != nullptr) {
    plain_params.sel = &selector;
    params = &plain_params;
  }
  index_->search(1, query, static_cast<faiss::Index::idx_t>(want), distances.data(), labels.data(), params);
  std::vector<std::int64_t> out;
  out.reserve(want);
  for (auto label : labels) {
    if (label >= 0) out.push_back(label);
  }
  return out;
}

}  // namespace tenantai::retrieval::detail
