#include "tenantai/audit/merkle.h"

#include <sodium.h>

#include <string>

namespace tenantai::audit {

namespace {

// Largest power of two strictly less than n (n > 1).
std::uint64_t split_point(std::uint64_t n) {
  std::uint64_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

Hash subtree(const Hash* leaves, std::uint64_t n) {
  if (n == 1) return leaves[0];
  const std::uint64_t k = split_point(n);
  return node_hash(subtree(leaves, k), subtree(leaves + k, n - k));
}

// RFC 9162 2.1.3.1 PATH(m, D[n]).
void path(const Hash* leaves, std::uint64_t m, std::uint64_t n, std::vector<Hash>& out) {
  if (n <= 1) return;
  const std::uint64_t k = split_point(n);
  if (m < k) {
    path(leaves, m, k, out);
    out.push_back(subtree(leaves + k, n - k));
  } else {
    path(leaves + k, m - k, n - k, out);
    out.push_back(subtree(leaves, k));
  }
}

// RFC 9162 2.1.4.1 SUBPROOF(m, D[n], b).
void subproof(const Hash* leaves, std::uint64_t m, std::uint64_t n, bool b, std::vector<Hash>& out) {
  if (m == n) {
    if (!b) out.push_back(subtree(leaves, n));
    return;
  }
  const std::uint64_t k = split_point(n);
  if (m <= k) {
    subproof(leaves, m, k, b, out);
    out.push_back(subtree(leaves + k, n - k));
  } else {
    subproof(leaves + k, m - k, n - k, false, out);
    out.push_back(subtree(leaves, k));
  }
}

}  // namespace

Hash leaf_hash(std::string_view leaf) noexcept {
  Hash out;
  crypto_hash_sha256_state st;
  const unsigned char prefix = 0x00;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, &prefix, 1);
  crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(leaf.data()), leaf.size());
  crypto_hash_sha256_final(&st, out.data());
  return out;
}

Hash node_hash(const Hash& left, const Hash& right) noexcept {
  unsigned char buf[65];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  Hash out;
  crypto_hash_sha256(out.data(), buf, sizeof buf);
  return out;
}

Hash root_of(const Hash* leaves, std::size_t count) {
  if (count == 0) {
    Hash out;
    crypto_hash_sha256(out.data(), nullptr, 0);
    return out;
  }
  return subtree(leaves, count);
}

Result<std::vector<Hash>> inclusion_proof(const std::vector<Hash>& leaves, std::uint64_t index, std::uint64_t size) {
  if (size > leaves.size() || index >= size) {
    return Error(ErrorCode::InvalidArgument, "no leaf " + std::to_string(index) + " in a tree of size " +
                                                 std::to_string(size) + " (log has " + std::to_string(leaves.size()) +
                                                 " leaves)");
  }
  std::vector<Hash> out;
  path(leaves.data(), index, size, out);
  return out;
}

Result<std::vector<Hash>> consistency_proof(const std::vector<Hash>& leaves, std::uint64_t old_size,
                                            std::uint64_t new_size) {
  if (old_size == 0 || old_size > new_size || new_size > leaves.size()) {
    return Error(ErrorCode::InvalidArgument, "no consistency proof from size " + std::to_string(old_size) +
                                                 " to " + std::to_string(new_size) + " (log has " +
                                                 std::to_string(leaves.size()) + " leaves)");
  }
  std::vector<Hash> out;
  if (old_size < new_size) subproof(leaves.data(), old_size, new_size, true, out);
  return out;
}

bool verify_inclusion(const Hash& leaf, std::uint64_t index, std::uint64_t size, const std::vector<Hash>& proof,
                      const Hash& root) noexcept {
  if (index >= size) return false;
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      r = node_hash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root, const Hash& new_root,
                        const std::vector<Hash>& proof) noexcept {
  if (old_size == 0 || old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (proof.empty()) return false;
  std::vector<Hash> p = proof;
  // If old_size is a power of two, old_root is the first element of the (implied) path.
  if ((old_size & (old_size - 1)) == 0) p.insert(p.begin(), old_root);
  std::uint64_t fn = old_size - 1;
  std::uint64_t sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = p[0];
  Hash sr = p[0];
  for (std::size_t i = 1; i < p.size(); ++i) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      fr = node_hash(p[i], fr);
      sr = node_hash(p[i], sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = node_hash(sr, p[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == old_root && sr == new_root;
}

void MerkleFrontier::append(const Hash& leaf) {
  // stack_ holds roots of perfect subtrees whose sizes are the set bits of size_, largest first.
  Hash carry = leaf;
  std::uint64_t n = size_;
  while ((n & 1) == 1) {
    carry = node_hash(stack_.back(), carry);
    stack_.pop_back();
    n >>= 1;
  }
  stack_.push_back(carry);
  ++size_;
}

Hash MerkleFrontier::root() const {
  if (stack_.empty()) return root_of(nullptr, 0);
  Hash r = stack_.back();
  for (std::size_t i = stack_.size() - 1; i-- > 0;) r = node_hash(stack_[i], r);
  return r;
}

}  // namespace tenantai::audit
