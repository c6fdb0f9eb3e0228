#include "retrieval/validation.h"

#include <cmath>
#include <string>

#include "tenantai/core/error.h"
#include "tenantai/core/tenant_id.h"

namespace tenantai::retrieval::detail {
namespace {

[[noreturn]] void invalid(std::string message) { throw Error(ErrorCode::InvalidArgument, std::move(message)); }

std::string doc_name(const Document& d) { return "document \"" + escape_for_message(d.id) + "\""; }

void check_vector(std::span<const float> v, std::size_t dim, const std::string& what) {
  if (v.size() != dim) {
    invalid(what + " has " + std::to_string(v.size()) + " dimensions; the store expects " + std::to_string(dim));
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) invalid(what + " has a non-finite value at index " + std::to_string(i));
  }
}

}  // namespace

void normalise(float* v, std::size_t dim) noexcept {
  double sum = 0;
  for (std::size_t i = 0; i < dim; ++i) sum += static_cast<double>(v[i]) * v[i];
  if (sum <= 0) return;
  const auto inv = static_cast<float>(1.0 / std::sqrt(sum));
  for (std::size_t i = 0; i < dim; ++i) v[i] *= inv;
}

void validate_options(const VectorStoreOptions& o) {
  if (o.dim == 0 || o.dim > 65536) invalid("vector store dim must be 1..65536, got " + std::to_string(o.dim));
  if (o.max_id_bytes == 0 || o.max_k == 0) invalid("vector store max_id_bytes and max_k must be positive");
  if (o.ann.min_visible_fraction < 0 || o.ann.min_visible_fraction > 1) {
    invalid("ann.min_visible_fraction must be in [0, 1]");
  }
  if (o.ann.candidate_factor == 0) invalid("ann.candidate_factor must be positive");
  if (o.ann.factory.empty()) invalid("ann.factory must not be empty");
}

void prepare_document(Document& d, const VectorStoreOptions& o) {
  if (d.id.empty()) invalid("a document id must not be empty");
  if (d.id.size() > o.max_id_bytes) {
    invalid(doc_name(d) + " has an id of " + std::to_string(d.id.size()) + " bytes; the limit is " +
            std::to_string(o.max_id_bytes));
  }
  check_vector(d.vector, o.dim, doc_name(d));
  if (d.acl_groups.size() > o.max_acl_groups) {
    invalid(doc_name(d) + " has " + std::to_string(d.acl_groups.size()) + " ACL groups; the limit is " +
            std::to_string(o.max_acl_groups));
  }
  for (const auto& g : d.acl_groups) {
    if (g.empty() || g.size() > o.max_metadata_bytes) invalid(doc_name(d) + " has an empty or oversized ACL group");
  }
  if (d.metadata.size() > o.max_metadata_entries) {
    invalid(doc_name(d) + " has " + std::to_string(d.metadata.size()) + " metadata entries; the limit is " +
            std::to_string(o.max_metadata_entries));
  }
  for (const auto& [key, value] : d.metadata) {
    const auto* s = std::get_if<std::string>(&value);
    if (key.empty() || key.size() > o.max_metadata_bytes || (s != nullptr && s->size() > o.max_metadata_bytes)) {
      invalid(doc_name(d) + " has an empty or oversized metadata entry \"" + escape_for_message(key) + "\"");
    }
  }
  if (o.metric == Metric::Cosine) normalise(d.vector.data(), o.dim);
}

std::vector<float> prepare_query(std::span<const float> query, const VectorStoreOptions& o) {
  check_vector(query, o.dim, "the query vector");
  std::vector<float> q(query.begin(), query.end());
  if (o.metric == Metric::Cosine) normalise(q.data(), o.dim);
  return q;
}

void validate_k(std::size_t k, const VectorStoreOptions& o) {
  if (k == 0 || k > o.max_k) invalid("k must be 1.." + std::to_string(o.max_k) + ", got " + std::to_string(k));
}

void validate_filter(const Filter& filter, const VectorStoreOptions& o) {
  for (const Condition& c : filter.conditions) {
    if (c.key.empty() || c.key.size() > o.max_metadata_bytes) invalid("a filter names an empty or oversized key");
    if (c.op != Condition::Op::Equals && !std::holds_alternative<std::int64_t>(c.value)) {
      invalid("filter condition on \"" + escape_for_message(c.key) + "\": a range needs an integer bound");
    }
  }
}

}  // namespace tenantai::retrieval::detail
