// C2SP tlog-cosignature, Ed25519 "cosignature/v1" (signature type 0x04): a note signature line
// whose bytes are key ID[4] || timestamp u64 big-endian || Ed25519 signature[64] over
// "cosignature/v1\ntime <timestamp>\n" followed by the checkpoint's note text.
#include <sodium.h>

#include <cstring>
#include <set>

#include "audit/note_keys.h"
#include "core/durable_file.h"
#include "tenantai/audit/witness.h"
#include "tenantai/core/tenant_id.h"

namespace tenantai::audit {

namespace {

using detail::kSigTypeCosignatureV1;
constexpr std::uint64_t kMaxTimestamp = (std::uint64_t{1} << 63) - 1;
constexpr std::size_t kTimestampBytes = 8;

std::string signed_message(std::string_view note_text, std::uint64_t timestamp_s) {
  return "cosignature/v1\ntime " + std::to_string(timestamp_s) + "\n" + std::string(note_text);
}

// The text a cosignature covers: the note's text (extension lines included) or, for a
// Checkpoint without a note, its three-line body.
std::string note_text_of(const Checkpoint& checkpoint) {
  if (checkpoint.note.empty()) return checkpoint.body();
  auto split = detail::split_note(checkpoint.note);
  if (!split) throw Error(ErrorCode::InvalidArgument, "cannot cosign: " + split.error().message());
  return std::string(split->text);
}

std::string timestamp_bytes(std::uint64_t t) {
  std::string out(kTimestampBytes, '\0');
  for (std::size_t i = 0; i < kTimestampBytes; ++i) out[i] = static_cast<char>(t >> (8 * (7 - i)));
  return out;
}

std::uint64_t read_timestamp(std::string_view bytes) {
  std::uint64_t t = 0;
  for (std::size_t i = 0; i < kTimestampBytes; ++i) t = t << 8 | static_cast<unsigned char>(bytes[i]);
  return t;
}

}  // namespace

// ---- signer ---------------------------------------------------------------------------------

CosignatureSigner::CosignatureSigner(std::string name, const unsigned char* seed) : name_(std::move(name)) {
  if (!detail::valid_name(name_)) {
    throw Error(ErrorCode::InvalidArgument, "invalid cosigner name \"" + escape_for_message(name_) +
                                                "\" (non-empty, no spaces or '+')");
  }
  secret_ = detail::new_ed25519_secret(seed, public_);
}

CosignatureSigner CosignatureSigner::generate(std::string name) {
  tenantai::detail::ensure_sodium();
  unsigned char seed[crypto_sign_SEEDBYTES];
  randombytes_buf(seed, sizeof seed);
  CosignatureSigner out(std::move(name), seed);
  sodium_memzero(seed, sizeof seed);
  return out;
}

CosignatureSigner CosignatureSigner::load(const std::string& path) {
  auto key = detail::load_ed25519_key(path, detail::kCosignerKeyFile);
  CosignatureSigner out(std::move(key.name), reinterpret_cast<const unsigned char*>(key.seed.data()));
  sodium_memzero(key.seed.data(), key.seed.size());
  return out;
}

CosignatureSigner::~CosignatureSigner() {
  if (secret_ != nullptr) sodium_free(secret_);  // sodium_free zeroes
}

CosignatureSigner::CosignatureSigner(CosignatureSigner&& other) noexcept
    : name_(std::move(other.name_)), secret_(other.secret_), public_(other.public_) {
  other.secret_ = nullptr;
}

void CosignatureSigner::save(const std::string& path) const {
  detail::save_ed25519_key(path, detail::kCosignerKeyFile, name_, secret_);
}

std::string CosignatureSigner::verifier_key() const {
  return detail::format_verifier_key(name_, kSigTypeCosignatureV1, public_);
}

std::string CosignatureSigner::cosign(const Checkpoint& checkpoint, std::uint64_t timestamp_s) const {
  if (timestamp_s == 0 || timestamp_s > kMaxTimestamp) {
    throw Error(ErrorCode::InvalidArgument, "a cosignature timestamp is in 1 .. 2^63-1, got " +
                                                std::to_string(timestamp_s));
  }
  const std::string message = signed_message(note_text_of(checkpoint), timestamp_s);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(), secret_);
  const std::string payload = timestamp_bytes(timestamp_s) + std::string(reinterpret_cast<const char*>(sig), sizeof sig);
  return detail::signature_line(name_, detail::key_id(name_, kSigTypeCosignatureV1, public_), payload);
}

// ---- verifier -------------------------------------------------------------------------------

Result<CosignatureVerifier> CosignatureVerifier::parse(std::string_view verifier_key) {
  auto key = detail::parse_verifier_key(verifier_key, kSigTypeCosignatureV1);
  if (!key) return key.error();
  CosignatureVerifier v;
  v.name_ = std::move(key->name);
  v.key_ = std::string(verifier_key);
  v.key_hash_ = key->id;
  v.public_ = key->pk;
  return v;
}

Result<std::uint64_t> CosignatureVerifier::verify(std::string_view note) const {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::Tampered, "cosignature by \"" + name_ + "\" rejected: " + why);
  };
  auto split = detail::split_note(note);
  if (!split) return bad(split.error().message());
  auto sigs = detail::signatures_by(split->signatures, name_, key_hash_);
  if (!sigs) return bad(sigs.error().message());
  if (sigs->empty()) return Error(ErrorCode::NotFound, "no cosignature by \"" + name_ + "\"");
  std::uint64_t latest = 0;
  for (const auto& sig : *sigs) {
    if (sig.size() != kTimestampBytes + crypto_sign_BYTES) return bad("not a timestamped Ed25519 signature");
    const std::uint64_t t = read_timestamp(sig);
    if (t > kMaxTimestamp) return bad("timestamp beyond 2^63-1");
    const std::string message = signed_message(split->text, t);
    if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig.data()) + kTimestampBytes,
                                    reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                    public_.data()) != 0) {
      return bad("Ed25519 signature does not verify");
    }
    latest = std::max(latest, t);
  }
  return latest;
}

Result<std::size_t> verify_cosignatures(std::string_view note, const std::vector<CosignatureVerifier>& witnesses,
                                        std::size_t quorum) {
  std::set<std::string> seen;
  std::size_t valid = 0;
  for (const auto& witness : witnesses) {
    if (!seen.insert(witness.key()).second) continue;  // the same key twice counts once
    auto checked = witness.verify(note);
    if (checked) {
      ++valid;
    } else if (checked.error().code() != ErrorCode::NotFound) {
      return checked.error();
    }
  }
  if (valid < quorum) {
    return Error(ErrorCode::NotFound, std::to_string(valid) + " of " + std::to_string(seen.size()) +
                                          " cosignatures, quorum " + std::to_string(quorum));
  }
  return valid;
}

}  // namespace tenantai::audit
