// RFC 9162 Merkle tree hashing (SHA-256 via libsodium; 0x00 leaf / 0x01 node prefixes),
// inclusion and consistency proofs and their verification. Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tenantai/core/error.h"

namespace tenantai::audit {

using Hash = std::array<unsigned char, 32>;

// SHA-256(0x00 || leaf).
Hash leaf_hash(std::string_view leaf) noexcept;
// SHA-256(0x01 || left || right).
Hash node_hash(const Hash& left, const Hash& right) noexcept;
// MTH of the given leaf hashes (RFC 9162 2.1.1); SHA-256("") for none.
Hash root_of(const Hash* leaves, std::size_t count);

// Audit path for leaf `index` in the tree of the first `size` leaves (RFC 9162 2.1.3.1).
// InvalidArgument unless index < size <= leaves.size().
Result<std::vector<Hash>> inclusion_proof(const std::vector<Hash>& leaves, std::uint64_t index,
                                          std::uint64_t size);
// Consistency proof between the trees of sizes old_size and new_size (RFC 9162 2.1.4.1).
// InvalidArgument unless 0 < old_size <= new_size <= leaves.size().
Result<std::vector<Hash>> consistency_proof(const std::vector<Hash>& leaves,
                                            std::uint64_t old_size, std::uint64_t new_size);

// RFC 9162 2.1.3.2. True when `proof` shows `leaf` at `index` in the tree of `size` with `root`.
bool verify_inclusion(const Hash& leaf, std::uint64_t index, std::uint64_t size,
                      const std::vector<Hash>& proof, const Hash& root) noexcept;
// RFC 9162 2.1.4.2. True when the tree (old_size, old_root) is a prefix of (new_size, new_root).
bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root,
                        const Hash& new_root, const std::vector<Hash>& proof) noexcept;

// Incremental root over an append-only sequence: O(log n) memory, amortised one node hash per
// append. Not thread-safe.
class MerkleFrontier {
 public:
  void append(const Hash& leaf);
  std::uint64_t size() const noexcept { return size_; }
  Hash root() const;

 private:
  std::vector<Hash> stack_;  // perfect subtree roots, largest first
  std::uint64_t size_ = 0;
};

}  // namespace tenantai::audit
