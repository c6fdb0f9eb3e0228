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

KeyedDigest::KeyedDigest(const TenantSecret& secret) noexcept { crypto_generichash_init(&state_, secret.data(), 32, 32); }

void KeyedDigest::add_framed(std::string_view part) noexcept {
  unsigned char length[8];
  std::uint64_t n = part.size();
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(n >> (8 * i));
  crypto_generichash_update(&state_, length, sizeof length);
  crypto_generichash_update(&state_, reinterpret_cast<const unsigned char*>(part.data()), part.size());
}

namespace {
constexpr bool is_space(unsigned char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
}  // namespace

namespace {
// True when normalise_input(text) == text: no \t..\r, no leading/trailing or doubled space.
// Branch-free loops, so the compiler vectorises them; most prompts take this path.
bool already_normalised(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  if (n == 0) return true;
  if (p[0] == ' ' || p[n - 1] == ' ') return false;
  unsigned bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad |= static_cast<unsigned>(static_cast<unsigned>(p[i]) - 9u < 5u);
  for (std::size_t i = 0; i + 1 < n; ++i) bad |= static_cast<unsigned>((p[i] == ' ') & (p[i + 1] == ' '));
  return bad == 0;
}
}  // namespace

void KeyedDigest::add_normalised_tail(std::string_view text) noexcept {
  if (already_normalised(text)) {
    crypto_generichash_update(&state_, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    return;
  }
  // Same rule as normalise_input(), streamed through a stack buffer (one hash update per
  // kChunk output bytes, not one per word).
  constexpr std::size_t kChunk = 1024;
  unsigned char buffer[kChunk];
  std::size_t used = 0;
  bool pending_space = false;
  bool any = false;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_space(c)) {
      pending_space = any;
      continue;
    }
    if (used + 2 > kChunk) {
      crypto_generichash_update(&state_, buffer, used);
      used = 0;
    }
    if (pending_space) buffer[used++] = ' ';
    pending_space = false;
    any = true;
    buffer[used++] = c;
  }
  if (used > 0) crypto_generichash_update(&state_, buffer, used);
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
  bool pending_space = false;
  for (char ch : input) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(ch);
  }
  return out;
}

}  // namespace tenantai::cache
