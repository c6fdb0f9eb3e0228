#include "cache/keyed_digest.h"

#include "tenantai/core/error.h"

namespace tenantai::cache::detail {

MasterSecret::MasterSecret() {
  if (sodium_init() < 0) throw Error(ErrorCode::CryptoFailure, "libsodium failed to initialise");
  bytes_ = static_cast<unsigned char*>(sodium_malloc(32));
  if (bytes_ == nullptr) throw Error(ErrorCode::CryptoFailure, "could not allocate guarded memory for the cache secret");
  randombytes_buf(bytes_, 32);
  sodium_mprotect_readonly(bytes_);
}

MasterSecret::~MasterSecret() { sodium_free(bytes_); }

void MasterSecret::derive(const TenantId& tenant, TenantSecret& out) const {
  crypto_generichash(out.mutable_data(), 32, reinterpret_cast<const unsigned char*>(tenant.view().data()),
                     tenant.view().size(), bytes_, 32);
}

KeyedDigest::KeyedDigest(const unsigned char* key32) noexcept { crypto_generichash_init(&state_, key32, 32, 32); }

bool already_normalised(std::string_view text) noexcept {
  // Branch-free loops, so the compiler vectorises them.
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  if (n == 0) return true;
  if (p[0] == ' ' || p[n - 1] == ' ') return false;
  unsigned bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad |= static_cast<unsigned>(static_cast<unsigned>(p[i]) - 9u < 5u);
  for (std::size_t i = 0; i + 1 < n; ++i) bad |= static_cast<unsigned>((p[i] == ' ') & (p[i + 1] == ' '));
  return bad == 0;
}

Digest KeyedDigest::finish() noexcept {
  Digest out;
  crypto_generichash_final(&state_, out.data(), out.size());
  return out;
}

std::string to_hex(const Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(digest.size() * 2, '0');
  for (std::size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

}  // namespace tenantai::cache::detail

namespace tenantai::cache {

std::string normalise_input(std::string_view input) {
  std::string out;
  out.reserve(input.size());
  detail::AppendKeyBytes sink{out};
  detail::feed_normalised_tail(sink, input);
  return out;
}

}  // namespace tenantai::cache
