// Internal: what checkpoint signatures (C2SP signed-note type 0x01) and witness cosignatures
// (C2SP tlog-cosignature, type 0x04) share — key names and key IDs, verifier-key strings,
// splitting a note into its text and signature lines, checkpoint text parsing, and the Ed25519
// key files both signers save and load. Pure functions unless stated; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/key_file_format.h"
#include "tenantai/audit/checkpoint.h"
#include "tenantai/core/error.h"

namespace tenantai::audit::detail {

inline constexpr std::string_view kSignatureLineStart = "\xE2\x80\x94 ";  // "— " (U+2014, space)
inline constexpr unsigned char kSigTypeEd25519 = 0x01;           // signed-note Ed25519
inline constexpr unsigned char kSigTypeCosignatureV1 = 0x04;     // tlog-cosignature Ed25519
inline constexpr std::size_t kMaxNoteBytes = 64 * 1024;

using KeyId = std::array<unsigned char, 4>;
using PublicKey = std::array<unsigned char, 32>;

// SHA-256(name || 0x0A || sig_type || pk)[0:4].
KeyId key_id(std::string_view name, unsigned char sig_type, const PublicKey& pk);

// A signed-note key name: non-empty, printable ASCII, no spaces, no '+'.
bool valid_name(std::string_view name);

// Decimal without leading zeroes ("0" alone is zero), at most UINT64_MAX.
bool parse_u64(std::string_view text, std::uint64_t& out);

// "<name>+<hex key id>+<base64(sig_type || pk)>".
std::string format_verifier_key(std::string_view name, unsigned char sig_type, const PublicKey& pk);

struct VerifierKey {
  std::string name{};
  KeyId id{};
  PublicKey pk{};
};
// Parses a verifier key of `sig_type`; InvalidArgument when malformed, of another type, or its
// key ID does not match its name and key.
Result<VerifierKey> parse_verifier_key(std::string_view text, unsigned char sig_type);

// One signature line: "— <name> <base64>" (newline stripped).
struct SignatureLine {
  std::string_view name{};
  std::string_view base64{};
};
// A note split at its last blank line: the text (with its final newline) and the signature
// lines after it. Tampered when the note is too large, holds control characters other than
// newline, has no blank line, or a line after it is not a signature line.
struct SplitNote {
  std::string_view text{};
  std::vector<SignatureLine> signatures{};
};
Result<SplitNote> split_note(std::string_view note);
// Signature lines alone (a witness response body), each ending in a newline.
Result<std::vector<SignatureLine>> parse_signature_lines(std::string_view lines);

// The signature bytes after the 4-byte key ID of every line by (name, id); lines by other keys
// are skipped, as the spec says. Tampered when a line with this name is not base64.
Result<std::vector<std::string>> signatures_by(const std::vector<SignatureLine>& lines, std::string_view name,
                                              const KeyId& id);

// "— <name> base64(id || payload)\n".
std::string signature_line(std::string_view name, const KeyId& id, std::string_view payload);

// Parses a checkpoint's note text (origin, size, base64 root, optional non-empty extension
// lines), keeping `note` as the checkpoint's note. Tampered when malformed.
Result<Checkpoint> parse_checkpoint_text(std::string_view text, std::string_view note);

// An Ed25519 secret key in sodium_malloc'ed memory (filled from `seed`, pk written to `pk`).
// Throws CryptoFailure when guarded memory is exhausted. The caller sodium_free()s it.
unsigned char* new_ed25519_secret(const unsigned char* seed, PublicKey& pk);

// Ed25519 key files: "<magic> <version> alg=ed25519\n<name> <base64 seed>\n", mode 0600.
struct KeyFileKind {
  std::string_view magic;
  int version;
  bool headerless_allowed;  // version 0 (no header line) accepted on load
};
inline constexpr KeyFileKind kCheckpointKeyFile{crypto::detail::kSigningKeyMagic, crypto::detail::kSigningKeyVersion,
                                                true};
inline constexpr KeyFileKind kCosignerKeyFile{crypto::detail::kCosignerKeyMagic, crypto::detail::kCosignerKeyVersion,
                                              false};
// AlreadyExists if `path` exists; StorageFailure on I/O.
void save_ed25519_key(const std::string& path, const KeyFileKind& kind, std::string_view name,
                      const unsigned char* secret);
struct LoadedKey {
  std::string name{};
  std::string seed{};  // 32 bytes; the caller wipes it
};
// StorageFailure (unreadable, unknown header) / InvalidArgument (malformed body) naming `path`.
LoadedKey load_ed25519_key(const std::string& path, const KeyFileKind& kind);

}  // namespace tenantai::audit::detail
