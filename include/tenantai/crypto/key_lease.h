// KeyLease: a 32-byte symmetric key held in guarded libsodium memory for one operation.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tenantai::crypto {

// Owns kSize bytes allocated with sodium_malloc (guard pages, canary) and locked with
// sodium_mlock where RLIMIT_MEMLOCK allows (a failed lock is tolerated: sodium_malloc memory is
// still excluded from core dumps where the OS supports it). The bytes are zeroed and freed when
// the lease is destroyed or moved from. Move-only; not thread-safe to mutate, safe to read
// concurrently through data().
class KeyLease {
 public:
  static constexpr std::size_t kSize = 32;

  // A zero-filled key buffer. Throws Error(CryptoFailure) if guarded memory is exhausted.
  KeyLease();
  // A random key (randombytes_buf).
  static KeyLease random();
  // A copy of `bytes` (exactly kSize of them; callers wipe their own copy).
  static KeyLease copy_of(const unsigned char* bytes);

  ~KeyLease();
  KeyLease(KeyLease&& other) noexcept;
  KeyLease& operator=(KeyLease&& other) noexcept;
  KeyLease(const KeyLease&) = delete;
  KeyLease& operator=(const KeyLease&) = delete;

  // The key bytes; nullptr after the lease was moved from.
  unsigned char* data() noexcept { return bytes_; }
  const unsigned char* data() const noexcept { return bytes_; }
  static constexpr std::size_t size() noexcept { return kSize; }
  explicit operator bool() const noexcept { return bytes_ != nullptr; }

 private:
  void release() noexcept;
  unsigned char* bytes_ = nullptr;
};

}  // namespace tenantai::crypto
