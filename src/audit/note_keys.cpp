#include "audit/note_keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

#include "core/durable_file.h"
#include "tenantai/core/tenant_id.h"

namespace tenantai::audit::detail {

namespace {

Error tampered(const std::string& why) { return Error(ErrorCode::Tampered, "malformed note: " + why); }

// Length of the UTF-8 sequence starting with `lead`, 0 if `lead` cannot start one.
std::size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Valid UTF-8 (continuation bytes checked; overlongs of 3/4-byte forms are not) without control
// characters other than newline, as signed-note requires.
bool clean_text(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f) return false;
    const std::size_t n = utf8_length(c);
    if (n == 0 || i + n > text.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

std::vector<std::string_view> split_lines(std::string_view text) {  // text ends in '\n'
  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos < text.size();) {
    const auto nl = text.find('\n', pos);
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

}  // namespace

KeyId key_id(std::string_view name, unsigned char sig_type, const PublicKey& pk) {
  std::string input(name);
  input.push_back('\n');
  input.push_back(static_cast<char>(sig_type));
  input.append(reinterpret_cast<const char*>(pk.data()), pk.size());
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  return {digest[0], digest[1], digest[2], digest[3]};
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '+' || static_cast<unsigned char>(c) >= 0x7f) return false;
  }
  return true;
}

bool parse_u64(std::string_view text, std::uint64_t& out) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) return false;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

std::string format_verifier_key(std::string_view name, unsigned char sig_type, const PublicKey& pk) {
  const KeyId id = key_id(name, sig_type, pk);
  char hex[9];
  sodium_bin2hex(hex, sizeof hex, id.data(), id.size());
  unsigned char raw[33];
  raw[0] = sig_type;
  std::memcpy(raw + 1, pk.data(), pk.size());
  return std::string(name) + "+" + hex + "+" + to_base64(raw, sizeof raw);
}

Result<VerifierKey> parse_verifier_key(std::string_view text, unsigned char sig_type) {
  tenantai::detail::ensure_sodium();
  const auto p1 = text.find('+');
  const auto p2 = p1 == std::string_view::npos ? p1 : text.find('+', p1 + 1);
  if (p2 == std::string_view::npos) {
    return Error(ErrorCode::InvalidArgument, "malformed verifier key (want name+hash+key): " + escape_for_message(text));
  }
  VerifierKey key;
  key.name = std::string(text.substr(0, p1));
  const std::string_view hex = text.substr(p1 + 1, p2 - p1 - 1);
  auto raw = from_base64(text.substr(p2 + 1));
  if (!valid_name(key.name) || hex.size() != 8 || !raw || raw->size() != 33 ||
      static_cast<unsigned char>((*raw)[0]) != sig_type) {
    return Error(ErrorCode::InvalidArgument, "malformed Ed25519 verifier key (want signature type " +
                                                 std::to_string(sig_type) + "): " + escape_for_message(text));
  }
  std::memcpy(key.pk.data(), raw->data() + 1, key.pk.size());
  key.id = key_id(key.name, sig_type, key.pk);
  char expect[9];
  sodium_bin2hex(expect, sizeof expect, key.id.data(), key.id.size());
  if (hex != expect) return Error(ErrorCode::InvalidArgument, "verifier key hash does not match its key");
  return key;
}

Result<std::vector<SignatureLine>> parse_signature_lines(std::string_view rest) {
  std::vector<SignatureLine> out;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    if (nl == std::string_view::npos) return tampered("signature line without newline");
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    if (!line.starts_with(kSignatureLineStart)) return tampered("a line after the blank line is not a signature");
    line.remove_prefix(kSignatureLineStart.size());
    const auto sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0 || sp + 1 == line.size()) return tampered("malformed signature line");
    out.push_back({line.substr(0, sp), line.substr(sp + 1)});
  }
  return out;
}

Result<SplitNote> split_note(std::string_view note) {
  if (note.size() > kMaxNoteBytes) return tampered("note too large");
  if (!clean_text(note)) return tampered("not UTF-8 text without control characters");
  if (note.empty() || note.back() != '\n') return tampered("does not end in a newline");
  // The text ends at the last blank line; signature lines never are blank.
  const auto split = note.substr(0, note.size() - 1).rfind("\n\n");
  if (split == std::string_view::npos) return tampered("no blank line between text and signatures");
  auto lines = parse_signature_lines(note.substr(split + 2));
  if (!lines) return lines.error();
  if (lines->empty()) return tampered("no signature lines");
  return SplitNote{note.substr(0, split + 1), std::move(*lines)};
}

Result<std::vector<std::string>> signatures_by(const std::vector<SignatureLine>& lines, std::string_view name,
                                              const KeyId& id) {
  std::vector<std::string> out;
  for (const auto& line : lines) {
    if (line.name != name) continue;
    auto raw = from_base64(line.base64);
    if (!raw || raw->size() < id.size()) return tampered("signature by \"" + std::string(name) + "\" is not base64");
    if (std::memcmp(raw->data(), id.data(), id.size()) != 0) continue;  // another key of that name
    out.push_back(raw->substr(id.size()));
  }
  return out;
}

std::string signature_line(std::string_view name, const KeyId& id, std::string_view payload) {
  std::string raw(reinterpret_cast<const char*>(id.data()), id.size());
  raw.append(payload);
  return std::string(kSignatureLineStart) + std::string(name) + " " +
         to_base64(reinterpret_cast<const unsigned char*>(raw.data()), raw.size()) + "\n";
}

Result<Checkpoint> parse_checkpoint_text(std::string_view text, std::string_view note) {
  const auto lines = split_lines(text);
  if (lines.size() < 3) return tampered("checkpoint needs origin, size and root hash lines");
  for (const auto line : lines) {
    if (line.empty()) return tampered("empty line in the checkpoint text");
  }
  Checkpoint cp;
  cp.origin = std::string(lines[0]);
  if (!parse_u64(lines[1], cp.size)) return tampered("size line is not a decimal number");
  auto root = from_base64(lines[2]);
  if (!root || root->size() != cp.root.size()) return tampered("root hash is not 32 base64 bytes");
  std::memcpy(cp.root.data(), root->data(), cp.root.size());
  cp.note = std::string(note);
  return cp;
}

unsigned char* new_ed25519_secret(const unsigned char* seed, PublicKey& pk) {
  tenantai::detail::ensure_sodium();
  auto* secret = static_cast<unsigned char*>(sodium_malloc(crypto_sign_SECRETKEYBYTES));
  if (secret == nullptr) throw Error(ErrorCode::CryptoFailure, "out of guarded memory for a signing key");
  crypto_sign_seed_keypair(pk.data(), secret, seed);
  return secret;
}

void save_ed25519_key(const std::string& path, const KeyFileKind& kind, std::string_view name,
                      const unsigned char* secret) {
  unsigned char seed[crypto_sign_SEEDBYTES];
  crypto_sign_ed25519_sk_to_seed(seed, secret);
  std::string text = crypto::detail::key_file_header(kind.magic, kind.version, crypto::detail::signing_key_fields()) +
                     std::string(name) + " " + to_base64(seed, sizeof seed) + "\n";
  sodium_memzero(seed, sizeof seed);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    sodium_memzero(text.data(), text.size());
    throw Error(errno == EEXIST ? ErrorCode::AlreadyExists : ErrorCode::StorageFailure, "cannot create " + path);
  }
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  sodium_memzero(text.data(), text.size());
  if (!ok) throw Error(ErrorCode::StorageFailure, "cannot write " + path);
}

LoadedKey load_ed25519_key(const std::string& path, const KeyFileKind& kind) {
  std::string file = tenantai::detail::read_file(path);
  auto parsed = crypto::detail::parse_key_file(path, file, kind.magic, kind.version,
                                               crypto::detail::signing_key_fields());
  sodium_memzero(file.data(), file.size());
  if (parsed.version == 0 && !kind.headerless_allowed) {
    sodium_memzero(parsed.body.data(), parsed.body.size());
    throw Error(ErrorCode::InvalidArgument, path + " is not a " + std::string(kind.magic) + " file");
  }
  std::istringstream in(parsed.body);
  LoadedKey key;
  std::string b64;
  const bool read = static_cast<bool>(in >> key.name >> b64);
  sodium_memzero(parsed.body.data(), parsed.body.size());
  auto seed = read ? from_base64(b64) : Result<std::string>(Error(ErrorCode::InvalidArgument, ""));
  sodium_memzero(b64.data(), b64.size());
  if (!read) throw Error(ErrorCode::InvalidArgument, "malformed signing key file " + path);
  if (!seed || seed->size() != crypto_sign_SEEDBYTES) {
    throw Error(ErrorCode::InvalidArgument, "malformed signing key in " + path);
  }
  key.seed = std::move(*seed);
  return key;
}

}  // namespace tenantai::audit::detail
