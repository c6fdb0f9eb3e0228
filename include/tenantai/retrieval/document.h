// Document, Filter and Hit: the values a VectorStore stores, matches and returns.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tenantai::retrieval {

// A small metadata value: an integer or a string.
using MetadataValue = std::variant<std::int64_t, std::string>;

// Small key → value metadata of one document (at most VectorStoreOptions::max_metadata_entries).
using Metadata = std::map<std::string, MetadataValue, std::less<>>;

// One stored document. Plain value type; the store copies what it keeps.
struct Document {
  std::string id;                        // external id, unique inside the tenant, 1..256 bytes
  std::vector<float> vector;             // exactly VectorStoreOptions::dim finite floats
  std::vector<std::string> acl_groups;   // empty: visible to every actor of the tenant;
                                         // else only to actors in at least one of these groups
  Metadata metadata;                     // optional, usable in a Filter
};

// One condition of a metadata filter on key `key`.
struct Condition {
  enum class Op { Equals, AtLeast, AtMost };
  std::string key;
  Op op = Op::Equals;
  MetadataValue value;  // AtLeast / AtMost need an integer (InvalidArgument otherwise)
};

// A conjunction of metadata conditions (all must hold). An empty filter matches everything.
// A document without the key never matches a condition on it. Plain value type.
struct Filter {
  std::vector<Condition> conditions;

  bool empty() const noexcept { return conditions.empty(); }

  // Builders: Filter{}.equals("lang", "en").at_least("year", 2020)
  Filter& equals(std::string key, MetadataValue value) {
    conditions.push_back({std::move(key), Condition::Op::Equals, std::move(value)});
    return *this;
  }
  Filter& at_least(std::string key, std::int64_t value) {
    conditions.push_back({std::move(key), Condition::Op::AtLeast, value});
    return *this;
  }
  Filter& at_most(std::string key, std::int64_t value) {
    conditions.push_back({std::move(key), Condition::Op::AtMost, value});
    return *this;
  }
};

// One search result. `score` is the inner product (InnerProduct), the cosine similarity
// (Cosine) — higher is better — or the squared Euclidean distance (L2) — lower is better.
// Hits come best first; ties are broken by insertion order, which is not guaranteed stable.
struct Hit {
  std::string id;
  float score = 0.f;

  friend bool operator==(const Hit&, const Hit&) = default;
};

}  // namespace tenantai::retrieval
