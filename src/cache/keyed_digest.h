// Internal: per-tenant keyed BLAKE2b-256 digests used as cache keys.
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "tenantai/cache/response_key.h"
#include "tenantai/core/tenant_id.h"

namespace tenantai::cache::detail {

using Digest = std::array<unsigned char, 32>;

// Digests are uniformly random, so their first 8 bytes are a good hash.
struct DigestHash {
  std::size_t operator()(const Digest& d) const noexcept {
    std::size_t h;
    std::memcpy(&h, d.data(), sizeof h);
    return h;
  }
};

// A tenant's 32-byte cache-key secret. Zeroed on destruction. Immutable after construction, so
// concurrent reads need no lock.
class TenantSecret {
 public:
  TenantSecret() = default;
  ~TenantSecret() { sodium_memzero(bytes_.data(), bytes_.size()); }
  TenantSecret(const TenantSecret&) = delete;
  TenantSecret& operator=(const TenantSecret&) = delete;
  const unsigned char* data() const noexcept { return bytes_.data(); }
  unsigned char* mutable_data() noexcept { return bytes_.data(); }

 private:
  std::array<unsigned char, 32> bytes_{};
};

// A random secret per cache instance (guarded libsodium memory), from which each tenant's
// secret is derived as BLAKE2b-256(key = master, tenant id). Thread-safe after construction.
class MasterSecret {
 public:
  MasterSecret();  // throws CryptoFailure when libsodium cannot initialise or allocate
  ~MasterSecret();
  MasterSecret(const MasterSecret&) = delete;
  MasterSecret& operator=(const MasterSecret&) = delete;

  void derive(const TenantId& tenant, TenantSecret& out) const;

 private:
  unsigned char* bytes_ = nullptr;
};

// The bytes a cache key is made of, fed to `sink(const unsigned char*, std::size_t)`: each
// framed part is preceded by its 8-byte little-endian length (so "ab"+"c" and "a"+"bc" differ);
// the optional normalised tail (normalise_input(text), never built as a string) is last and
// needs no frame. One definition for the streaming hash and the batch serialiser.
template <typename Sink>
void feed_framed(Sink& sink, std::string_view part) {
  unsigned char length[8];
  const std::uint64_t n = part.size();
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(n >> (8 * i));
  sink(length, sizeof length);
  sink(reinterpret_cast<const unsigned char*>(part.data()), part.size());
}

// True when normalise_input(text) == text (most prompts): no \t..\r, no leading, trailing or
// doubled space. Never throws.
bool already_normalised(std::string_view text) noexcept;

template <typename Sink>
void feed_normalised_tail(Sink& sink, std::string_view text) {
  if (already_normalised(text)) {
    sink(reinterpret_cast<const unsigned char*>(text.data()), text.size());
    return;
  }
  // Same rule as normalise_input(), through a stack buffer (one sink call per kChunk bytes).
  constexpr std::size_t kChunk = 1024;
  unsigned char buffer[kChunk];
  std::size_t used = 0;
  bool pending_space = false;
  bool any = false;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ' ' || c - 9u < 5u) {
      pending_space = any;
      continue;
    }
    if (used + 2 > kChunk) {
      sink(buffer, used);
      used = 0;
    }
    if (pending_space) buffer[used++] = ' ';
    pending_space = false;
    any = true;
    buffer[used++] = c;
  }
  if (used > 0) sink(buffer, used);
}

// Streaming keyed BLAKE2b-256 (libsodium) over feed_framed / feed_normalised_tail bytes.
class KeyedDigest {
 public:
  explicit KeyedDigest(const unsigned char* key32) noexcept;
  explicit KeyedDigest(const TenantSecret& secret) noexcept : KeyedDigest(secret.data()) {}
  void add_framed(std::string_view part) noexcept { feed_framed(*this, part); }
  void add_normalised_tail(std::string_view text) noexcept { feed_normalised_tail(*this, text); }
  Digest finish() noexcept;
  // The sink interface.
  void operator()(const unsigned char* bytes, std::size_t n) noexcept { crypto_generichash_update(&state_, bytes, n); }

 private:
  crypto_generichash_state state_;
};

// The same bytes appended to a string, for hashing many keys at once (blake2b_lanes.h).
struct AppendKeyBytes {
  std::string& out;
  void operator()(const unsigned char* bytes, std::size_t n) { out.append(reinterpret_cast<const char*>(bytes), n); }
};

// Feeds the bytes of `key` (framed model id, prompt version and parameters, then the normalised
// input) to a keyed-digest sink: the one definition of what a response key hashes.
template <typename Sink>
void feed_response_key(Sink& sink, const ResponseKey& key) {
  feed_framed(sink, key.model_id);
  feed_framed(sink, key.prompt_version);
  feed_framed(sink, key.params);
  feed_normalised_tail(sink, key.input);
}

// The same bytes as one string (what the property tests compare before hashing).
std::string response_key_bytes(const ResponseKey& key);

// Lower-case hex of a digest (object ids for the sealer).
std::string to_hex(const Digest& digest);

}  // namespace tenantai::cache::detail
