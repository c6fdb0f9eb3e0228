#include "cache/blake2b_lanes.h"

#include <sodium.h>

#include <cstring>

namespace tenantai::cache::detail {

namespace {

// One BLAKE2b compression (RFC 7693 §3.2), scalar: only used to absorb the key block once.
void compress_block(std::uint64_t h[8], const unsigned char block[128], std::uint64_t counter) noexcept {
  std::uint64_t m[16];
  std::memcpy(m, block, sizeof m);  // little-endian hosts (static_assert in the lane body)
  std::uint64_t v[16];
  for (int i = 0; i < 8; ++i) {
    v[i] = h[i];
    v[8 + i] = kBlake2bIv[i];
  }
  v[12] ^= counter;
  auto rotr = [](std::uint64_t x, int n) { return (x >> n) | (x << (64 - n)); };
  auto g = [&](int r, int i, int a, int b, int c, int d) {
    v[a] = v[a] + v[b] + m[kBlake2bSigma[r][2 * i]];
    v[d] = rotr(v[d] ^ v[a], 32);
    v[c] = v[c] + v[d];
    v[b] = rotr(v[b] ^ v[c], 24);
    v[a] = v[a] + v[b] + m[kBlake2bSigma[r][2 * i + 1]];
    v[d] = rotr(v[d] ^ v[a], 16);
    v[c] = v[c] + v[d];
    v[b] = rotr(v[b] ^ v[c], 63);
  };
  for (int r = 0; r < 12; ++r) {
    g(r, 0, 0, 4, 8, 12);
    g(r, 1, 1, 5, 9, 13);
    g(r, 2, 2, 6, 10, 14);
    g(r, 3, 3, 7, 11, 15);
    g(r, 4, 0, 5, 10, 15);
    g(r, 5, 1, 6, 11, 12);
    g(r, 6, 2, 7, 8, 13);
    g(r, 7, 3, 4, 9, 14);
  }
  for (int i = 0; i < 8; ++i) h[i] ^= v[i] ^ v[8 + i];
}

bool cpu_has_avx2() noexcept { return __builtin_cpu_supports("avx2"); }
bool cpu_has_avx512() noexcept { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"); }

void hash_one_by_one(const PreparedBlake2bKey& key, const std::string_view* messages, std::size_t count,
                     Digest* out) noexcept {
  for (std::size_t i = 0; i < count; ++i) {
    crypto_generichash(out[i].data(), out[i].size(), reinterpret_cast<const unsigned char*>(messages[i].data()),
                       messages[i].size(), key.key(), 32);
  }
}

}  // namespace

PreparedBlake2bKey::PreparedBlake2bKey(const unsigned char* key32) noexcept { prepare(key32); }

PreparedBlake2bKey::PreparedBlake2bKey(const MasterSecret& master, const TenantId& tenant) noexcept {
  TenantSecret secret;  // zeroed when it goes out of scope
  master.derive(tenant, secret);
  prepare(secret.data());
}

void PreparedBlake2bKey::prepare(const unsigned char* key32) noexcept {
  std::memcpy(key_, key32, sizeof key_);
  for (int i = 0; i < 8; ++i) chain_[i] = kBlake2bIv[i];
  chain_[0] ^= 0x01010000ULL ^ (32ULL << 8) ^ 32ULL;  // depth 1, fanout 1, 32-byte key, 32-byte digest
  unsigned char block[128] = {};
  std::memcpy(block, key_, sizeof key_);
  compress_block(chain_, block, 128);
  sodium_memzero(block, sizeof block);
}

PreparedBlake2bKey::~PreparedBlake2bKey() {
  sodium_memzero(key_, sizeof key_);
  sodium_memzero(chain_, sizeof chain_);
}

bool blake2b_lanes_supported(Blake2bLanes lanes) noexcept {
  switch (lanes) {
    case Blake2bLanes::Portable: return true;
    case Blake2bLanes::Avx2x4: return cpu_has_avx2();
    case Blake2bLanes::Avx512x8: return cpu_has_avx512();
  }
  return false;
}

Blake2bLanes best_blake2b_lanes() noexcept {
  static const Blake2bLanes best = cpu_has_avx512() ? Blake2bLanes::Avx512x8
                                   : cpu_has_avx2() ? Blake2bLanes::Avx2x4
                                                    : Blake2bLanes::Portable;
  return best;
}

void blake2b256_many(const PreparedBlake2bKey& key, const std::string_view* messages, std::size_t count,
                     Digest* out) noexcept {
  blake2b256_many(best_blake2b_lanes(), key, messages, count, out);
}

void blake2b256_many(Blake2bLanes lanes, const PreparedBlake2bKey& key, const std::string_view* messages,
                     std::size_t count, Digest* out) noexcept {
  // The lane kernels start from the chain after the key block, so they need at least one
  // message byte; an empty message (its key block is also its last block) goes one by one.
  // A lone message is cheaper through libsodium's single-message SIMD code.
  if (lanes == Blake2bLanes::Portable || count < 2) {
    hash_one_by_one(key, messages, count, out);
    return;
  }
  std::size_t start = 0;
  while (start < count) {
    std::size_t end = start;
    while (end < count && !messages[end].empty()) ++end;
    if (end > start) {
      if (lanes == Blake2bLanes::Avx512x8) {
        blake2b256_lanes_avx512(key.chain(), messages + start, end - start, out + start);
      } else {
        blake2b256_lanes_avx2(key.chain(), messages + start, end - start, out + start);
      }
    }
    if (end < count) hash_one_by_one(key, messages + end, 1, out + end);
    start = end + 1;
  }
}

}  // namespace tenantai::cache::detail
