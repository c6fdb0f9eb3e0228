#include "crypto/key_file_format.h"

#include <cstring>
#include <sstream>

#include "tenantai/core/error.h"
#include "tenantai/core/tenant_id.h"

namespace tenantai::crypto::detail {

namespace {

[[noreturn]] void refuse(const std::filesystem::path& path, const std::string& why) {
  throw Error(ErrorCode::StorageFailure, "key file " + path.string() + " " + why + "; refusing to use it");
}

int parse_version(const std::filesystem::path& path, const std::string& token) {
  int version = 0;
  for (char c : token) {
    if (c < '0' || c > '9' || version > 1'000'000) refuse(path, "has a malformed format version \"" + escape_for_message(token) + "\"");
    version = version * 10 + (c - '0');
  }
  if (token.empty()) refuse(path, "has no format version");
  return version;
}

HeaderFields parse_fields(const std::filesystem::path& path, std::istringstream& in) {
  HeaderFields fields;
  std::string token;
  while (in >> token) {
    const auto eq = token.find('=');
    if (eq == std::string::npos || eq == 0) refuse(path, "has a malformed header field \"" + escape_for_message(token) + "\"");
    fields[token.substr(0, eq)] = token.substr(eq + 1);
  }
  return fields;
}

void check_fields(const std::filesystem::path& path, const HeaderFields& found, const HeaderFields& expected) {
  for (const auto& [key, value] : expected) {
    auto it = found.find(key);
    if (it == found.end()) refuse(path, "names no " + key + " algorithm (this build uses " + value + ")");
    if (it->second != value) {
      refuse(path, "names " + key + " algorithm \"" + escape_for_message(it->second) + "\", unknown to this build (it reads " +
                       value + ")");
    }
  }
  for (const auto& [key, value] : found) {
    if (!expected.contains(key)) refuse(path, "has header field \"" + escape_for_message(key) + "\", unknown to this build");
  }
}

}  // namespace

KeyFileText parse_key_file(const std::filesystem::path& path, std::string_view text, std::string_view magic,
                           int current, const HeaderFields& expected) {
  const std::string prefix = std::string(magic) + " ";
  if (!text.starts_with(prefix)) return {0, std::string(text)};
  const auto nl = text.find('\n');
  if (nl == std::string_view::npos) refuse(path, "has a header line without an end");
  std::istringstream header{std::string(text.substr(prefix.size(), nl - prefix.size()))};
  std::string token;
  header >> token;
  const int version = parse_version(path, token);
  if (version != current) {
    refuse(path, "has format version " + std::to_string(version) + "; this build reads versions 0 and " +
                     std::to_string(current) + " (written by a newer tenantai?)");
  }
  check_fields(path, parse_fields(path, header), expected);
  return {version, std::string(text.substr(nl + 1))};
}

std::string key_file_header(std::string_view magic, int version, const HeaderFields& fields) {
  std::string out = std::string(magic) + " " + std::to_string(version);
  for (const auto& [key, value] : fields) out += " " + key + "=" + value;
  return out + "\n";
}

void read_master_key(const std::filesystem::path& path, std::string_view contents, unsigned char* out) {
  const auto refuse_key = [&](const std::string& why) {
    throw Error(ErrorCode::CryptoFailure, "master key " + path.string() + " " + why);
  };
  if (contents.size() == kMasterKeyBytes) {  // version 0: the raw bytes
    std::memcpy(out, contents.data(), kMasterKeyBytes);
    return;
  }
  if (contents.size() >= sizeof kMasterKeyMagic + 1 &&
      contents.substr(0, sizeof kMasterKeyMagic) == std::string_view(kMasterKeyMagic, sizeof kMasterKeyMagic)) {
    const auto version = static_cast<std::uint8_t>(contents[sizeof kMasterKeyMagic]);
    if (version != kMasterKeyVersion) {
      refuse_key("has format version " + std::to_string(version) + "; this build reads versions 0 and " +
                        std::to_string(kMasterKeyVersion) + " (written by a newer tenantai?)");
    }
    const std::size_t header = sizeof kMasterKeyMagic + 1;
    if (contents.size() != header + kMasterKeyBytes) {
      refuse_key("(format version 1) must be " + std::to_string(header + kMasterKeyBytes) + " bytes, has " +
                        std::to_string(contents.size()));
    }
    std::memcpy(out, contents.data() + header, kMasterKeyBytes);
    return;
  }
  refuse_key("must be exactly 32 bytes (format version 0) or a version 1 file, has " +
                    std::to_string(contents.size()) + " bytes");
}

std::string encode_master_key(const unsigned char* key) {
  std::string out(kMasterKeyMagic, sizeof kMasterKeyMagic);
  out.push_back(static_cast<char>(kMasterKeyVersion));
  out.append(reinterpret_cast<const char*>(key), kMasterKeyBytes);
  return out;
}

}  // namespace tenantai::crypto::detail
