#include "tenantai/crypto/local_key_provider.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <vector>

#include "core/durable_file.h"
#include "crypto/key_file_format.h"

namespace tenantai::crypto {

namespace {

constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "tai-kek_";
constexpr std::size_t kSaltSize = 16;
constexpr std::size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;

std::string wrap_ad(const TenantId& tenant, std::uint32_t version) {
  return "tenantai/dek|" + tenant.str() + "|" + std::to_string(version);
}

// <tenant>.kek: header "tenantai-kek 1 kdf=... wrap=..." (see crypto/key_file_format.h).
constexpr std::string_view kKekMagic = "tenantai-kek";
constexpr int kKekVersion = 1;
const detail::HeaderFields& kek_algorithms() {
  static const detail::HeaderFields fields{{"kdf", "blake2b256-kdf"}, {"wrap", "xchacha20poly1305-ietf"}};
  return fields;
}

// Writes a new master key next to `path` and links it into place, so the key appears whole or
// not at all, and a concurrent creator's key is never overwritten. False if `path` exists.
bool create_master(const std::filesystem::path& path, unsigned char* out) {
  unsigned char tag[8];
  randombytes_buf(tag, sizeof tag);
  char hex[2 * sizeof tag + 1];
  sodium_bin2hex(hex, sizeof hex, tag, sizeof tag);
  const std::filesystem::path temp = path.string() + ".new-" + hex;
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Error(ErrorCode::StorageFailure, "cannot create master key " + path.string() + ": " + std::strerror(errno));
  }
  randombytes_buf(out, KeyLease::kSize);
  std::string encoded = detail::encode_master_key(out);
  bool ok = true;
  try {
    tenantai::detail::write_fully(fd, encoded, temp);
    ok = ::fsync(fd) == 0;
  } catch (const Error&) {
    ok = false;
  }
  sodium_memzero(encoded.data(), encoded.size());
  ::close(fd);
  const bool linked = ok && ::link(temp.c_str(), path.c_str()) == 0;
  const int link_errno = errno;
  ::unlink(temp.c_str());
  if (linked) {
    tenantai::detail::sync_directory(path.parent_path());
    return true;
  }
  sodium_memzero(out, KeyLease::kSize);
  if (ok && link_errno == EEXIST) return false;
  throw Error(ErrorCode::StorageFailure, "cannot write master key " + path.string());
}

// Reads an existing master key through one descriptor, so the checks are on the file read:
// a regular file, not readable or writable by group or others, of a known format version.
void read_master(const std::filesystem::path& path, unsigned char* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorCode::StorageFailure, "cannot open master key " + path.string() + ": " + std::strerror(errno));
  struct stat st {};
  std::string bytes;
  try {
    if (::fstat(fd, &st) != 0) throw Error(ErrorCode::StorageFailure, "cannot stat master key " + path.string());
    if (!S_ISREG(st.st_mode)) throw Error(ErrorCode::CryptoFailure, "master key " + path.string() + " is not a regular file");
    if ((st.st_mode & 077) != 0) {
      throw Error(ErrorCode::CryptoFailure,
                  "master key " + path.string() + " is accessible by group or others (mode must be 0600)");
    }
    bytes.resize(static_cast<std::size_t>(std::min<off_t>(st.st_size, 4096)) + 1);
    const ssize_t n = ::pread(fd, bytes.data(), bytes.size(), 0);
    if (n < 0) throw Error(ErrorCode::StorageFailure, "cannot read master key " + path.string() + ": " + std::strerror(errno));
    bytes.resize(static_cast<std::size_t>(n));
    detail::read_master_key(path, bytes, out);
  } catch (...) {
    sodium_memzero(bytes.data(), bytes.size());
    ::close(fd);
    throw;
  }
  sodium_memzero(bytes.data(), bytes.size());
  ::close(fd);
}

void load_master(const std::filesystem::path& path, unsigned char* out) {
  if (!std::filesystem::exists(path) && create_master(path, out)) return;
  read_master(path, out);
}

}  // namespace

struct LocalKeyProvider::TenantKeks {
  bool destroyed = false;
  std::vector<std::string> salts;  // salts[v - 1] for version v (raw bytes)
};

LocalKeyProvider::LocalKeyProvider(std::filesystem::path directory) : directory_(std::move(directory)) {
  tenantai::detail::ensure_sodium();
  std::error_code ec;
  std::filesystem::create_directories(directory_, ec);
  if (ec) throw Error(ErrorCode::StorageFailure, "cannot create key directory " + directory_.string() + ": " + ec.message());
  load_master(directory_ / "master.key", master_.data());
}

LocalKeyProvider::~LocalKeyProvider() = default;

LocalKeyProvider::TenantKeks& LocalKeyProvider::load_locked(const TenantId& tenant) {
  auto it = cache_.find(tenant);
  if (it != cache_.end()) return it->second;
  TenantKeks keks;
  const auto path = directory_ / (tenant.str() + ".kek");
  if (std::filesystem::exists(path)) {
    const std::string text = tenantai::detail::read_file(path);
    std::istringstream in(detail::parse_key_file(path, text, kKekMagic, kKekVersion, kek_algorithms()).body);
    std::string line;
    while (std::getline(in, line)) {
      if (line == "destroyed") {
        keks.destroyed = true;
        keks.salts.clear();
        break;
      }
      std::istringstream fields(line);
      std::uint32_t version = 0;
      std::string hex;
      if (!(fields >> version >> hex) || version != keks.salts.size() + 1 || hex.size() != 2 * kSaltSize) {
        throw Error(ErrorCode::StorageFailure, "malformed line in " + path.string() + ": " + escape_for_message(line));
      }
      std::string salt(kSaltSize, '\0');
      if (sodium_hex2bin(reinterpret_cast<unsigned char*>(salt.data()), kSaltSize, hex.c_str(), hex.size(), nullptr,
                         nullptr, nullptr) != 0) {
        throw Error(ErrorCode::StorageFailure, "malformed salt in " + path.string());
      }
      keks.salts.push_back(std::move(salt));
    }
  }
  return cache_.emplace(tenant, std::move(keks)).first->second;
}

void LocalKeyProvider::store_locked(const TenantId& tenant, const TenantKeks& keks) {
  std::string text = detail::key_file_header(kKekMagic, kKekVersion, kek_algorithms());
  if (keks.destroyed) {
    text += "destroyed\n";
  } else {
    for (std::size_t i = 0; i < keks.salts.size(); ++i) {
      char hex[2 * kSaltSize + 1];
      sodium_bin2hex(hex, sizeof hex, reinterpret_cast<const unsigned char*>(keks.salts[i].data()), kSaltSize);
      text += std::to_string(i + 1) + " " + hex + "\n";
    }
  }
  tenantai::detail::write_file_atomic(directory_ / (tenant.str() + ".kek"), text);
}

void LocalKeyProvider::add_version_locked(const TenantId& tenant, TenantKeks& keks) {
  TenantKeks next = keks;
  std::string salt(kSaltSize, '\0');
  randombytes_buf(salt.data(), kSaltSize);
  next.salts.push_back(std::move(salt));
  store_locked(tenant, next);  // persisted before it is used, so no key depends on a lost salt
  keks = std::move(next);
}

KeyLease LocalKeyProvider::derive_locked(const TenantId& tenant, const TenantKeks& keks, std::uint32_t version) {
  if (keks.destroyed) {
    throw Error(ErrorCode::CryptoFailure, "the keys of tenant \"" + tenant.str() + "\" were destroyed");
  }
  if (version == 0 || version > keks.salts.size()) {
    throw Error(ErrorCode::CryptoFailure,
                "tenant \"" + tenant.str() + "\" has no key-encryption key version " + std::to_string(version));
  }
  // Tenant root key: BLAKE2b-256 keyed with the master key over "tenantai/kek/" tenant salt.
  KeyLease root;
  const std::string input = "tenantai/kek/" + tenant.str() + "/" + keks.salts[version - 1];
  crypto_generichash(root.data(), KeyLease::kSize, reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                     master_.data(), KeyLease::kSize);
  KeyLease kek;
  crypto_kdf_derive_from_key(kek.data(), KeyLease::kSize, version, kKdfContext, root.data());
  return kek;
}

WrappedKey LocalKeyProvider::wrap(const TenantContext& context, const KeyLease& data_key) {
  context.check_usable();  // a context kept past its SystemScope visit is dead
  std::lock_guard lock(mutex_);
  const TenantId& tenant = context.tenant();
  TenantKeks& keks = load_locked(tenant);
  if (keks.destroyed) {
    throw Error(ErrorCode::CryptoFailure, "the keys of tenant \"" + tenant.str() + "\" were destroyed");
  }
  if (keks.salts.empty()) add_version_locked(tenant, keks);
  const auto version = static_cast<std::uint32_t>(keks.salts.size());
  const KeyLease kek = derive_locked(tenant, keks, version);
  const std::string ad = wrap_ad(tenant, version);
  WrappedKey out;
  out.kek_version = version;
  out.blob.resize(kNonce + KeyLease::kSize + kTag);
  auto* p = reinterpret_cast<unsigned char*>(out.blob.data());
  randombytes_buf(p, kNonce);
  crypto_aead_xchacha20poly1305_ietf_encrypt(p + kNonce, nullptr, data_key.data(), KeyLease::kSize,
                                             reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, p,
                                             kek.data());
  return out;
}

Result<KeyLease> LocalKeyProvider::unwrap(const TenantContext& context, const WrappedKey& wrapped) {
  context.check_usable();  // a context kept past its SystemScope visit is dead
  std::lock_guard lock(mutex_);
  const TenantId& tenant = context.tenant();
  TenantKeks& keks = load_locked(tenant);
  if (keks.destroyed) {
    return Error(ErrorCode::CryptoFailure, "the keys of tenant \"" + tenant.str() + "\" were destroyed");
  }
  if (wrapped.blob.size() != kNonce + KeyLease::kSize + kTag) {
    return Error(ErrorCode::Tampered, "wrapped key of tenant \"" + tenant.str() + "\" has the wrong size");
  }
  if (wrapped.kek_version == 0 || wrapped.kek_version > keks.salts.size()) {
    return Error(ErrorCode::CryptoFailure, "tenant \"" + tenant.str() + "\" has no key-encryption key version " +
                                               std::to_string(wrapped.kek_version));
  }
  const KeyLease kek = derive_locked(tenant, keks, wrapped.kek_version);
  const std::string ad = wrap_ad(tenant, wrapped.kek_version);
  KeyLease out;
  const auto* p = reinterpret_cast<const unsigned char*>(wrapped.blob.data());
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), nullptr, nullptr, p + kNonce, KeyLease::kSize + kTag,
                                                 reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), p,
                                                 kek.data()) != 0) {
    return Error(ErrorCode::Tampered, "wrapped key does not open for tenant \"" + tenant.str() +
                                          "\" (altered, or wrapped for another tenant)");
  }
  return out;
}

namespace {

KeyLease service_kek(const KeyLease& master, std::string_view purpose) {
  KeyLease kek;
  const std::string input = "tenantai/service/" + std::string(purpose);
  crypto_generichash(kek.data(), KeyLease::kSize, reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                     master.data(), KeyLease::kSize);
  return kek;
}

std::string service_ad(std::string_view purpose) { return "tenantai/service|" + std::string(purpose); }

}  // namespace

WrappedKey LocalKeyProvider::wrap_service_key(std::string_view purpose, const KeyLease& key) {
  const KeyLease kek = service_kek(master_, purpose);
  const std::string ad = service_ad(purpose);
  WrappedKey out;
  out.kek_version = 1;
  out.blob.resize(kNonce + KeyLease::kSize + kTag);
  auto* p = reinterpret_cast<unsigned char*>(out.blob.data());
  randombytes_buf(p, kNonce);
  crypto_aead_xchacha20poly1305_ietf_encrypt(p + kNonce, nullptr, key.data(), KeyLease::kSize,
                                             reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, p,
                                             kek.data());
  return out;
}

Result<KeyLease> LocalKeyProvider::unwrap_service_key(std::string_view purpose, const WrappedKey& wrapped) {
  const std::string what = "service key \"" + escape_for_message(purpose) + "\"";
  if (wrapped.kek_version != 1 || wrapped.blob.size() != kNonce + KeyLease::kSize + kTag) {
    return Error(ErrorCode::Tampered, "wrapped " + what + " has the wrong version or size");
  }
  const KeyLease kek = service_kek(master_, purpose);
  const std::string ad = service_ad(purpose);
  KeyLease out;
  const auto* p = reinterpret_cast<const unsigned char*>(wrapped.blob.data());
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), nullptr, nullptr, p + kNonce, KeyLease::kSize + kTag,
                                                 reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), p,
                                                 kek.data()) != 0) {
    return Error(ErrorCode::Tampered, "wrapped " + what + " does not open (altered, sealed for another purpose, or "
                                      "under another master key)");
  }
  return out;
}

std::uint32_t LocalKeyProvider::rotate(const TenantContext& context) {
  context.check_usable();  // a context kept past its SystemScope visit is dead
  std::lock_guard lock(mutex_);
  const TenantId& tenant = context.tenant();
  TenantKeks& keks = load_locked(tenant);
  if (keks.destroyed) {
    throw Error(ErrorCode::CryptoFailure, "the keys of tenant \"" + tenant.str() + "\" were destroyed");
  }
  add_version_locked(tenant, keks);
  return static_cast<std::uint32_t>(keks.salts.size());
}

std::uint32_t LocalKeyProvider::current_version(const TenantContext& context) {
  context.check_usable();  // a context kept past its SystemScope visit is dead
  std::lock_guard lock(mutex_);
  TenantKeks& keks = load_locked(context.tenant());
  if (keks.destroyed) {
    throw Error(ErrorCode::CryptoFailure, "the keys of tenant \"" + context.tenant().str() + "\" were destroyed");
  }
  return static_cast<std::uint32_t>(keks.salts.size());
}

void LocalKeyProvider::destroy(const TenantContext& context) {
  context.check_usable();  // a context kept past its SystemScope visit is dead
  std::lock_guard lock(mutex_);
  const TenantId& tenant = context.tenant();
  TenantKeks& keks = load_locked(tenant);
  if (keks.destroyed) return;
  // Overwrite the salts in place before replacing the file, so the old bytes are not left in
  // the file's blocks where the file system rewrites in place.
  const auto path = directory_ / (tenant.str() + ".kek");
  if (std::filesystem::exists(path)) {
    const auto size = std::filesystem::file_size(path);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      std::vector<char> zeros(size, 0);
      (void)!::write(fd, zeros.data(), zeros.size());
      (void)::fsync(fd);
      ::close(fd);
    }
  }
  for (auto& salt : keks.salts) sodium_memzero(salt.data(), salt.size());
  TenantKeks tomb;
  tomb.destroyed = true;
  store_locked(tenant, tomb);
  keks = std::move(tomb);
}

bool LocalKeyProvider::destroyed(const TenantContext& context) {
  context.check_usable();  // a context kept past its SystemScope visit is dead
  std::lock_guard lock(mutex_);
  return load_locked(context.tenant()).destroyed;
}

}  // namespace tenantai::crypto
