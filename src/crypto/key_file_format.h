// Internal: the versioned header line of the crypto layer's text key files (<tenant>.kek,
// <tenant>.keyring) and the binary header of master.key.
//
//   text files:  "<magic> <version> <field>=<value> ...\n" then the body lines
//                A file whose first line does not start with "<magic> " predates versioning:
//                format version 0 (same body, no header). It is read as it is and rewritten in
//                the current version on its next write.
//   master.key:  version 0: exactly 32 raw key bytes (read forever, never rewritten)
//                version 1: "TAMK" | u8 version (= 1) | 32 key bytes
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace tenantai::crypto::detail {

// Fields a header must carry with exactly these values (e.g. {"wrap", "xchacha20poly1305-ietf"}).
using HeaderFields = std::map<std::string, std::string>;

struct KeyFileText {
  int version = 0;   // 0: no header line (written before key files were versioned)
  std::string body;  // the lines after the header
};

// Splits `text` (the contents of `path`) into header and body. A header of another version
// than `current`, or whose fields differ from `expected` (an unknown algorithm id, a missing or
// extra field), throws Error(StorageFailure) naming the file, the version or field found and
// what this build reads. Never writes.
KeyFileText parse_key_file(const std::filesystem::path& path, std::string_view text, std::string_view magic,
                           int current, const HeaderFields& expected);

// "<magic> <version> <k>=<v> ...\n" for the fields in key order.
std::string key_file_header(std::string_view magic, int version, const HeaderFields& fields);

// Ed25519 signing-key files (keys/audit-signer.key, keys/receipt-signer.key): this header, then
// the key's body line. Version 0 is the headerless body of the previous release.
inline constexpr std::string_view kSigningKeyMagic = "tenantai-signing-key";
inline constexpr int kSigningKeyVersion = 1;
inline const HeaderFields& signing_key_fields() {
  static const HeaderFields fields{{"alg", "ed25519"}};
  return fields;
}

// Witness cosigner keys (tools/tenantai-witness, C2SP tlog-cosignature): the same body as a
// signing key under their own magic, so a log's checkpoint key is never loaded as a witness key
// (the spec forbids one key for two signature types). No headerless version 0.
inline constexpr std::string_view kCosignerKeyMagic = "tenantai-cosigner-key";
inline constexpr int kCosignerKeyVersion = 1;

inline constexpr char kMasterKeyMagic[4] = {'T', 'A', 'M', 'K'};
inline constexpr std::uint8_t kMasterKeyVersion = 1;
inline constexpr std::size_t kMasterKeyBytes = 32;

// Copies the 32 key bytes of a master key file's contents (version 0 or 1) to `out`, or throws
// Error(CryptoFailure) naming `path` and what is wrong (unknown version, wrong size).
void read_master_key(const std::filesystem::path& path, std::string_view contents, unsigned char* out);

// The current-version encoding of the 32-byte master key `key` (the caller wipes it).
std::string encode_master_key(const unsigned char* key);

}  // namespace tenantai::crypto::detail
