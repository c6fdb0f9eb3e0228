#include "tenantai/crypto/key_lease.h"

#include <sodium.h>

#include <cstring>

#include "core/durable_file.h"
#include "tenantai/core/error.h"

namespace tenantai::crypto {

KeyLease::KeyLease() {
  detail::ensure_sodium();
  bytes_ = static_cast<unsigned char*>(sodium_malloc(kSize));
  if (bytes_ == nullptr) throw Error(ErrorCode::CryptoFailure, "out of guarded memory for a key");
  (void)sodium_mlock(bytes_, kSize);  // may fail at RLIMIT_MEMLOCK; sodium_malloc memory is still guarded
  sodium_memzero(bytes_, kSize);
}

KeyLease KeyLease::random() {
  KeyLease lease;
  randombytes_buf(lease.bytes_, kSize);
  return lease;
}

KeyLease KeyLease::copy_of(const unsigned char* bytes) {
  KeyLease lease;
  std::memcpy(lease.bytes_, bytes, kSize);
  return lease;
}

KeyLease::~KeyLease() { release(); }

KeyLease::KeyLease(KeyLease&& other) noexcept : bytes_(other.bytes_) { other.bytes_ = nullptr; }

KeyLease& KeyLease::operator=(KeyLease&& other) noexcept {
  if (this != &other) {
    release();
    bytes_ = other.bytes_;
    other.bytes_ = nullptr;
  }
  return *this;
}

void KeyLease::release() noexcept {
  if (bytes_ == nullptr) return;
  sodium_memzero(bytes_, kSize);
  (void)sodium_munlock(bytes_, kSize);
  sodium_free(bytes_);
  bytes_ = nullptr;
}

}  // namespace tenantai::crypto
