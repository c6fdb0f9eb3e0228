#include "tenantai/audit/checkpoint.h"

#include <sodium.h>

#include <cstring>

#include "audit/note_keys.h"
#include "core/durable_file.h"

namespace tenantai::audit {

using detail::kSigTypeEd25519;

std::string to_base64(const unsigned char* data, std::size_t size) {
  std::string out(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // trailing NUL
  return out;
}

Result<std::string> from_base64(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return Error(ErrorCode::InvalidArgument, "invalid base64: " + escape_for_message(text, 40));
  }
  out.resize(len);
  return out;
}

std::string origin_for(const TenantId& tenant) { return "tenantai.audit/" + tenant.str(); }

std::string Checkpoint::body() const {
  return origin + "\n" + std::to_string(size) + "\n" + to_base64(root.data(), root.size()) + "\n";
}

CheckpointSigner::CheckpointSigner(std::string name, const unsigned char* seed) : name_(std::move(name)) {
  if (!detail::valid_name(name_)) {
    throw Error(ErrorCode::InvalidArgument, "invalid signer name \"" + escape_for_message(name_) +
                                                "\" (non-empty, no spaces or '+')");
  }
  secret_ = detail::new_ed25519_secret(seed, public_);
}

CheckpointSigner CheckpointSigner::generate(std::string name) {
  tenantai::detail::ensure_sodium();
  unsigned char seed[crypto_sign_SEEDBYTES];
  randombytes_buf(seed, sizeof seed);
  CheckpointSigner out(std::move(name), seed);
  sodium_memzero(seed, sizeof seed);
  return out;
}

CheckpointSigner CheckpointSigner::from_seed(std::string_view seed, std::string name) {
  if (seed.size() != crypto_sign_SEEDBYTES) {
    throw Error(ErrorCode::InvalidArgument, "an Ed25519 seed has 32 bytes, got " + std::to_string(seed.size()));
  }
  return CheckpointSigner(std::move(name), reinterpret_cast<const unsigned char*>(seed.data()));
}

CheckpointSigner CheckpointSigner::load(const std::string& path) {
  // Version 1: a "tenantai-signing-key 1 alg=ed25519" header line; version 0: the body alone.
  auto key = detail::load_ed25519_key(path, detail::kCheckpointKeyFile);
  CheckpointSigner out = from_seed(key.seed, key.name);
  sodium_memzero(key.seed.data(), key.seed.size());
  return out;
}

CheckpointSigner::~CheckpointSigner() {
  if (secret_ != nullptr) sodium_free(secret_);  // sodium_free zeroes
}

CheckpointSigner::CheckpointSigner(CheckpointSigner&& other) noexcept
    : name_(std::move(other.name_)), secret_(other.secret_), public_(other.public_) {
  other.secret_ = nullptr;
}

void CheckpointSigner::save(const std::string& path) const {
  detail::save_ed25519_key(path, detail::kCheckpointKeyFile, name_, secret_);
}

std::string CheckpointSigner::verifier_key() const {
  return detail::format_verifier_key(name_, kSigTypeEd25519, public_);
}

Checkpoint CheckpointSigner::sign(std::string_view origin, std::uint64_t size, const Hash& root) const {
  Checkpoint cp;
  cp.origin = std::string(origin);
  cp.size = size;
  cp.root = root;
  const std::string body = cp.body();
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(body.data()), body.size(), secret_);
  cp.note = body + "\n" +
            detail::signature_line(name_, detail::key_id(name_, kSigTypeEd25519, public_),
                                   std::string_view(reinterpret_cast<const char*>(sig), sizeof sig));
  return cp;
}

std::string CheckpointSigner::sign_note(std::string_view text) const {
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(text.data()), text.size(), secret_);
  return std::string(text) + "\n" +
         detail::signature_line(name_, detail::key_id(name_, kSigTypeEd25519, public_),
                                std::string_view(reinterpret_cast<const char*>(sig), sizeof sig));
}

crypto::KeyLease CheckpointSigner::derive_key(std::string_view purpose) const {
  unsigned char seed[crypto_sign_SEEDBYTES];
  crypto_sign_ed25519_sk_to_seed(seed, secret_);
  unsigned char out[crypto::KeyLease::kSize];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(purpose.data()), purpose.size(), seed,
                     sizeof seed);
  sodium_memzero(seed, sizeof seed);
  crypto::KeyLease key = crypto::KeyLease::copy_of(out);
  sodium_memzero(out, sizeof out);
  return key;
}

Result<CheckpointVerifier> CheckpointVerifier::parse(std::string_view vkey) {
  auto key = detail::parse_verifier_key(vkey, kSigTypeEd25519);
  if (!key) return key.error();
  CheckpointVerifier v;
  v.name_ = std::move(key->name);
  v.key_hash_ = key->id;
  v.public_ = key->pk;
  return v;
}

std::string CheckpointVerifier::key() const { return detail::format_verifier_key(name_, kSigTypeEd25519, public_); }

bool CheckpointVerifier::verify_text(std::string_view note) const {
  auto split = detail::split_note(note);
  if (!split) return false;
  auto sigs = detail::signatures_by(split->signatures, name_, key_hash_);
  if (!sigs || sigs->empty()) return false;
  for (const auto& sig : *sigs) {
    if (sig.size() != crypto_sign_BYTES ||
        crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig.data()),
                                    reinterpret_cast<const unsigned char*>(split->text.data()), split->text.size(),
                                    public_.data()) != 0) {
      return false;
    }
  }
  return true;
}

Result<Checkpoint> CheckpointVerifier::verify(std::string_view note, std::string_view expected_origin) const {
  auto bad = [&](const std::string& why) { return Error(ErrorCode::Tampered, "checkpoint rejected: " + why); };
  auto split = detail::split_note(note);
  if (!split) return bad(split.error().message());
  auto cp = detail::parse_checkpoint_text(split->text, note);
  if (!cp) return bad(cp.error().message());
  auto sigs = detail::signatures_by(split->signatures, name_, key_hash_);
  if (!sigs) return bad(sigs.error().message());
  for (const auto& sig : *sigs) {
    if (sig.size() != crypto_sign_BYTES ||
        crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig.data()),
                                    reinterpret_cast<const unsigned char*>(split->text.data()), split->text.size(),
                                    public_.data()) != 0) {
      return bad("Ed25519 signature by \"" + name_ + "\" does not verify");
    }
  }
  if (sigs->empty()) return bad("no signature by the pinned key \"" + name_ + "\"");
  if (cp->origin != expected_origin) {
    return Error(ErrorCode::IsolationViolation, "checkpoint is for origin \"" + escape_for_message(cp->origin) +
                                                    "\", expected \"" + std::string(expected_origin) + "\"");
  }
  return cp;
}

}  // namespace tenantai::audit
