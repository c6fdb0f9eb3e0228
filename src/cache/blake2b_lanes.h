// Internal: keyed BLAKE2b-256 of many messages at once, one message per SIMD lane.
//
// Every lookup in a tenant's cache partition hashes its whole key (~570 bytes for a 512-byte
// prompt) under the tenant's secret. One BLAKE2b costs about as much as the rest of a cache hit
// together, and a single message cannot use more than one 256-bit lane group. Many messages
// under the same key can: word i of 4 (AVX2) or 8 (AVX-512) messages sits in one vector, so one
// compression round advances all of them. The digests are exactly crypto_generichash(out, 32,
// message, length, key, 32); tests compare every ISA against libsodium.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cache/keyed_digest.h"

namespace tenantai::cache::detail {

// RFC 7693: the initialisation vector and the message schedule of BLAKE2b's 12 rounds.
inline constexpr std::uint64_t kBlake2bIv[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};
inline constexpr unsigned char kBlake2bSigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4}, {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13}, {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11}, {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5}, {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

// A 32-byte BLAKE2b key with its first block (the zero-padded key) already compressed, so each
// message costs only its own blocks. Immutable after construction (concurrent reads need no
// lock); zeroed on destruction. Never throws.
class PreparedBlake2bKey {
 public:
  explicit PreparedBlake2bKey(const unsigned char* key32) noexcept;
  // The tenant's cache-key secret derived from `master` (MasterSecret::derive), prepared.
  PreparedBlake2bKey(const MasterSecret& master, const TenantId& tenant) noexcept;
  ~PreparedBlake2bKey();
  PreparedBlake2bKey(const PreparedBlake2bKey&) = delete;
  PreparedBlake2bKey& operator=(const PreparedBlake2bKey&) = delete;

  const unsigned char* key() const noexcept { return key_; }
  // The chaining value after the key block (BLAKE2b h[0..7]).
  const std::uint64_t* chain() const noexcept { return chain_; }

 private:
  void prepare(const unsigned char* key32) noexcept;

  unsigned char key_[32];
  std::uint64_t chain_[8];
};

// Which lane kernel hashes a batch. Portable hashes one message at a time with libsodium.
enum class Blake2bLanes { Portable, Avx2x4, Avx512x8 };

// The widest kernel this CPU runs (checked once).
Blake2bLanes best_blake2b_lanes() noexcept;
bool blake2b_lanes_supported(Blake2bLanes lanes) noexcept;

// out[i] = keyed BLAKE2b-256 of messages[i] under `key`, for i < count, using `lanes` (which
// must be supported: tests force each one) or the best one. Messages may differ in length and
// may be empty. Never throws.
void blake2b256_many(const PreparedBlake2bKey& key, const std::string_view* messages, std::size_t count,
                     Digest* out) noexcept;
void blake2b256_many(Blake2bLanes lanes, const PreparedBlake2bKey& key, const std::string_view* messages,
                     std::size_t count, Digest* out) noexcept;

// The lane kernels (blake2b_lanes_avx2.cpp, blake2b_lanes_avx512.cpp): every message non-empty.
void blake2b256_lanes_avx2(const std::uint64_t* chain, const std::string_view* messages, std::size_t count,
                           Digest* out) noexcept;
void blake2b256_lanes_avx512(const std::uint64_t* chain, const std::string_view* messages, std::size_t count,
                             Digest* out) noexcept;

}  // namespace tenantai::cache::detail
