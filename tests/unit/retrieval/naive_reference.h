// Test helpers for the retrieval layer: random vectors and a naive, obviously-correct top-k
// over a plain list of documents (ACL and filter applied row by row, double precision).
#pragma once

#include <tenantai/retrieval.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace tenantai::retrieval::test {

// prefix + decimal i (appending sidesteps a g++ 12 -Wstringop-overflow false positive on
// "literal" + std::to_string(i)).
inline std::string numbered(std::string_view prefix, std::size_t i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

// Store options with everything else at its default.
inline VectorStoreOptions store_options(std::size_t dim, Metric metric = Metric::InnerProduct) {
  VectorStoreOptions o;
  o.dim = dim;
  o.metric = metric;
  return o;
}

inline std::vector<float> random_vector(std::mt19937& rng, std::size_t dim) {
  std::normal_distribution<float> dist;
  std::vector<float> v(dim);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline bool naive_visible(const Document& d, const std::vector<std::string>& groups) {
  if (d.acl_groups.empty()) return true;
  for (const auto& g : d.acl_groups) {
    if (std::find(groups.begin(), groups.end(), g) != groups.end()) return true;
  }
  return false;
}

inline bool naive_matches(const Document& d, const Filter& f) {
  for (const auto& c : f.conditions) {
    auto it = d.metadata.find(c.key);
    if (it == d.metadata.end()) return false;
    if (c.op == Condition::Op::Equals) {
      if (!(it->second == c.value)) return false;
      continue;
    }
    if (!std::holds_alternative<std::int64_t>(it->second)) return false;
    const auto v = std::get<std::int64_t>(it->second);
    const auto bound = std::get<std::int64_t>(c.value);
    if (c.op == Condition::Op::AtLeast ? v < bound : v > bound) return false;
  }
  return true;
}

inline double naive_score(const std::vector<float>& a, const std::vector<float>& b, Metric metric) {
  double ip = 0, na = 0, nb = 0, l2 = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ip += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
    l2 += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  }
  switch (metric) {
    case Metric::InnerProduct: return ip;
    case Metric::Cosine: return ip / std::sqrt(na * nb);
    case Metric::L2: return -l2;  // higher is better internally
  }
  return 0;
}

// Best-first ids of the naive top-k.
inline std::vector<std::string> naive_top_k(const std::vector<Document>& docs, const std::vector<float>& q,
                                            std::size_t k, Metric metric, const std::vector<std::string>& groups = {},
                                            const Filter& filter = {}) {
  std::vector<std::pair<double, std::string>> scored;
  for (const auto& d : docs) {
    if (naive_visible(d, groups) && naive_matches(d, filter)) scored.emplace_back(naive_score(q, d.vector, metric), d.id);
  }
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < std::min(k, scored.size()); ++i) ids.push_back(scored[i].second);
  return ids;
}

inline std::vector<std::string> ids_of(const std::vector<Hit>& hits) {
  std::vector<std::string> ids;
  for (const auto& h : hits) ids.push_back(h.id);
  return ids;
}

}  // namespace tenantai::retrieval::test
