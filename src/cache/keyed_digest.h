// Internal: per-tenant keyed BLAKE2b-256 digests used as cache keys.
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

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

// Streaming keyed digest with unambiguous framing: each framed part is preceded by its 8-byte
// little-endian length; the (optional) normalised tail is last, so it needs no frame.
class KeyedDigest {
 public:
  explicit KeyedDigest(const TenantSecret& secret) noexcept;
  void add_framed(std::string_view part) noexcept;
  // Feeds normalise_input(text) without building the normalised string.
  void add_normalised_tail(std::string_view text) noexcept;
  Digest finish() noexcept;

 private:
  crypto_generichash_state state_;
};

// Lower-case hex of a digest (object ids for the sealer).
std::string to_hex(const Digest& digest);

}  // namespace tenantai::cache::detail
