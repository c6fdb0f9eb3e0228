#include <catch2/catch.hpp>
#include <sodium.h>
#include <tenantai/audit/merkle.h>

#include <string>
#include <vector>

using namespace tenantai::audit;

namespace {
std::string hex(const Hash& h) {
  char out[65];
  sodium_bin2hex(out, sizeof out, h.data(), h.size());
  return out;
}
std::vector<Hash> leaves_of(std::size_t n) {
  std::vector<Hash> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(leaf_hash("leaf-" + std::to_string(i)));
  return out;
}
}  // namespace

TEST_CASE("Merkle hashing follows RFC 9162 (known vectors)") {
  REQUIRE(sodium_init() >= 0);
  CHECK(hex(root_of(nullptr, 0)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex(leaf_hash("")) == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  // RFC 6962 / CT test tree: leaves "" and "\x00" -> root of two.
  const Hash l0 = leaf_hash("");
  const Hash l1 = leaf_hash(std::string(1, '\0'));
  const Hash two[] = {l0, l1};
  CHECK(root_of(two, 2) == node_hash(l0, l1));
  CHECK(hex(l1) == "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7");
}

TEST_CASE("The incremental frontier equals the recursive root for every size") {
  const auto leaves = leaves_of(70);
  MerkleFrontier f;
  for (std::size_t n = 1; n <= leaves.size(); ++n) {
    f.append(leaves[n - 1]);
    REQUIRE(f.root() == root_of(leaves.data(), n));
  }
}

TEST_CASE("Inclusion proofs verify for every leaf and fail when anything changes") {
  const auto leaves = leaves_of(33);
  for (std::uint64_t size = 1; size <= leaves.size(); ++size) {
    const Hash root = root_of(leaves.data(), size);
    for (std::uint64_t i = 0; i < size; ++i) {
      auto proof = inclusion_proof(leaves, i, size);
      REQUIRE(proof.ok());
      REQUIRE(verify_inclusion(leaves[i], i, size, *proof, root));
      if (size > 1) CHECK_FALSE(verify_inclusion(leaves[(i + 1) % size], i, size, *proof, root));
      if (!proof->empty()) {
        auto bad = *proof;
        bad[0][0] ^= 1;
        CHECK_FALSE(verify_inclusion(leaves[i], i, size, bad, root));
        bad = *proof;
        bad.pop_back();
        CHECK_FALSE(verify_inclusion(leaves[i], i, size, bad, root));
      }
    }
  }
  CHECK_FALSE(inclusion_proof(leaves, 5, 5).ok());
  CHECK_FALSE(inclusion_proof(leaves, 0, 34).ok());
}

TEST_CASE("Consistency proofs verify for every pair of sizes and fail for altered roots") {
  const auto leaves = leaves_of(24);
  for (std::uint64_t m = 1; m <= leaves.size(); ++m) {
    for (std::uint64_t n = m; n <= leaves.size(); ++n) {
      const Hash rm = root_of(leaves.data(), m);
      const Hash rn = root_of(leaves.data(), n);
      auto proof = consistency_proof(leaves, m, n);
      REQUIRE(proof.ok());
      REQUIRE(verify_consistency(m, n, rm, rn, *proof));
      if (m < n) {
        Hash other = rm;
        other[3] ^= 0x80;
        CHECK_FALSE(verify_consistency(m, n, other, rn, *proof));
        CHECK_FALSE(verify_consistency(m, n, rm, other, *proof));
        CHECK_FALSE(verify_consistency(m, n, rm, rn, {}));
      }
    }
  }
  CHECK_FALSE(consistency_proof(leaves, 0, 3).ok());
  CHECK_FALSE(consistency_proof(leaves, 4, 3).ok());
}
