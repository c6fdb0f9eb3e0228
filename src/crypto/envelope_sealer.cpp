#include "tenantai/crypto/envelope_sealer.h"

#include <sodium.h>

#include <cstring>
#include <sstream>
#include <vector>

#include "core/durable_file.h"
#include "crypto/key_file_format.h"

namespace tenantai::crypto {

namespace {

// "TS" then the envelope format byte. '1' is the only format: XChaCha20-Poly1305 (IETF) with
// the associated data below. A new cipher or layout gets a new byte; old boxes keep theirs.
constexpr char kMagic[3] = {'T', 'S', '1'};
constexpr std::size_t kFormatByte = 2;
constexpr std::size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr std::size_t kHeader = sizeof kMagic + 4 + kNonce;

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

// Length-prefixed fields, so no choice of kind/object id can collide with another.
std::string associated_data(const TenantId& tenant, std::string_view kind, std::string_view object_id,
                            std::uint32_t version) {
  std::string ad = "tenantai/seal/v1";
  ad.reserve(ad.size() + 16 + tenant.str().size() + kind.size() + object_id.size());
  for (std::string_view field : {tenant.view(), kind, object_id}) {
    put_u32(ad, static_cast<std::uint32_t>(field.size()));
    ad.append(field);
  }
  put_u32(ad, version);
  return ad;
}

bool may_manage_keys(const TenantContext& context) {
  return context.is_system() || context.has_capability("admin:keys");
}

}  // namespace

struct EnvelopeSealer::TenantKeys {
  struct Cached {
    KeyLease key;
    std::chrono::steady_clock::time_point unwrapped_at;
  };
  std::shared_mutex mutex;
  bool loaded = false;
  bool destroyed = false;
  std::vector<WrappedKey> wrapped;  // wrapped[v - 1] is data key version v
  std::map<std::uint32_t, Cached> cache;
};

EnvelopeSealer::EnvelopeSealer(KeyProvider& provider, std::filesystem::path keyring_dir, KeyAccessObserver* observer,
                               EnvelopeSealerOptions options)
    : provider_(provider), keyring_dir_(std::move(keyring_dir)), observer_(observer), options_(std::move(options)) {
  tenantai::detail::ensure_sodium();
  std::error_code ec;
  std::filesystem::create_directories(keyring_dir_, ec);
  if (ec) {
    throw Error(ErrorCode::StorageFailure, "cannot create keyring directory " + keyring_dir_.string() + ": " + ec.message());
  }
  randombytes_buf(nonce_prefix_, sizeof nonce_prefix_);
}

EnvelopeSealer::~EnvelopeSealer() = default;

std::shared_ptr<EnvelopeSealer::TenantKeys> EnvelopeSealer::keys_of(const TenantId& tenant) {
  std::lock_guard lock(map_mutex_);
  auto& slot = tenants_[tenant];
  if (!slot) slot = std::make_shared<TenantKeys>();
  return slot;
}

void EnvelopeSealer::report(const TenantContext& context, const KeyAccessEvent& event) {
  if (observer_ != nullptr) observer_->on_key_access(context, event);
}

namespace {

std::filesystem::path keyring_path(const std::filesystem::path& dir, const TenantId& tenant) {
  return dir / (tenant.str() + ".keyring");
}

// <tenant>.keyring: header "tenantai-keyring 1 seal=..." (see crypto/key_file_format.h), then
// one line per data key version: "<version> <kek version> <wrapped key hex>".
constexpr std::string_view kKeyringMagic = "tenantai-keyring";
constexpr int kKeyringVersion = 1;
const detail::HeaderFields& keyring_algorithms() {
  static const detail::HeaderFields fields{{"seal", "xchacha20poly1305-ietf"}};
  return fields;
}

void load_keyring(const std::filesystem::path& path, std::vector<WrappedKey>& out) {
  if (!std::filesystem::exists(path)) return;
  const std::string text = tenantai::detail::read_file(path);
  std::istringstream in(detail::parse_key_file(path, text, kKeyringMagic, kKeyringVersion, keyring_algorithms()).body);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::uint32_t version = 0;
    WrappedKey key;
    std::string hex;
    if (!(fields >> version >> key.kek_version >> hex) || version != out.size() + 1 || hex.size() % 2 != 0) {
      throw Error(ErrorCode::StorageFailure, "malformed line in keyring " + path.string() + ": " + escape_for_message(line));
    }
    key.blob.resize(hex.size() / 2);
    if (sodium_hex2bin(reinterpret_cast<unsigned char*>(key.blob.data()), key.blob.size(), hex.data(), hex.size(),
                       nullptr, nullptr, nullptr) != 0) {
      throw Error(ErrorCode::StorageFailure, "malformed wrapped key in keyring " + path.string());
    }
    out.push_back(std::move(key));
  }
}

void store_keyring(const std::filesystem::path& path, const std::vector<WrappedKey>& keys) {
  std::string text = detail::key_file_header(kKeyringMagic, kKeyringVersion, keyring_algorithms());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::string hex(keys[i].blob.size() * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(keys[i].blob.data()),
                   keys[i].blob.size());
    hex.pop_back();
    text += std::to_string(i + 1) + " " + std::to_string(keys[i].kek_version) + " " + hex + "\n";
  }
  tenantai::detail::write_file_atomic(path, text);
}

}  // namespace

void EnvelopeSealer::load_locked(const TenantContext& context, TenantKeys& keys) {
  if (keys.loaded) return;
  keys.destroyed = provider_.destroyed(context);
  if (!keys.destroyed) load_keyring(keyring_path(keyring_dir_, context.tenant()), keys.wrapped);
  keys.loaded = true;
}

Result<KeyLease> EnvelopeSealer::unwrap_version(const TenantContext& context, const TenantKeys& keys,
                                                std::uint32_t version) {
  Result<KeyLease> lease = provider_.unwrap(context, keys.wrapped[version - 1]);
  if (lease) return lease;
  const Error& e = lease.error();
  return Error(e.code(), "keyring " + keyring_path(keyring_dir_, context.tenant()).string() + ", data key version " +
                             std::to_string(version) + ": " + e.message());
}

void EnvelopeSealer::verify(const TenantContext& context) {
  context.check_usable();
  const TenantId& tenant = context.tenant();
  auto keys = keys_of(tenant);
  std::vector<KeyAccessEvent> reports;
  {
    std::unique_lock unique(keys->mutex);
    load_locked(context, *keys);
    if (keys->destroyed) {
      throw Error(ErrorCode::CryptoFailure, "the keys of tenant \"" + tenant.str() + "\" were destroyed");
    }
    const auto now = options_.clock();
    for (std::uint32_t version = 1; version <= keys->wrapped.size(); ++version) {
      Result<KeyLease> lease = unwrap_version(context, *keys, version);
      if (!lease) throw lease.error();
      keys->cache[version] = {std::move(lease).value(), now};
      reports.push_back({KeyAccess::Unwrap, version, {}, {}, true});
    }
  }
  for (const auto& r : reports) report(context, r);
}

std::string EnvelopeSealer::seal(const TenantContext& context, std::string_view kind, std::string_view object_id,
                                 std::string_view plaintext) {
  context.check_usable();  // a context kept past its SystemScope visit is dead
  const TenantId& tenant = context.tenant();
  auto keys = keys_of(tenant);
  std::vector<KeyAccessEvent> reports;
  std::string out;
  {
    std::shared_lock shared(keys->mutex);
    const auto now = options_.clock();
    auto usable = [&](std::uint32_t version) -> const KeyLease* {
      auto it = keys->cache.find(version);
      if (it == keys->cache.end() || now - it->second.unwrapped_at > options_.key_cache_ttl) return nullptr;
      return &it->second.key;
    };
    const KeyLease* key = nullptr;
    std::uint32_t version = 0;
    if (keys->loaded && !keys->destroyed && !keys->wrapped.empty()) {
      version = static_cast<std::uint32_t>(keys->wrapped.size());
      key = usable(version);
    }
    if (key == nullptr) {
      shared.unlock();
      std::unique_lock unique(keys->mutex);
      load_locked(context, *keys);
      if (keys->destroyed) {
        throw Error(ErrorCode::CryptoFailure, "the keys of tenant \"" + tenant.str() + "\" were destroyed");
      }
      if (keys->wrapped.empty()) {
        KeyLease fresh = KeyLease::random();
        std::vector<WrappedKey> next{provider_.wrap(context, fresh)};
        store_keyring(keyring_path(keyring_dir_, tenant), next);
        keys->wrapped = std::move(next);
        keys->cache[1] = {std::move(fresh), now};
      }
      version = static_cast<std::uint32_t>(keys->wrapped.size());
      if (usable(version) == nullptr) {
        Result<KeyLease> lease = unwrap_version(context, *keys, version);
        if (!lease) throw lease.error();
        keys->cache[version] = {std::move(lease).value(), now};
        reports.push_back({KeyAccess::Unwrap, version, {}, {}, true});
      }
      unique.unlock();
      shared.lock();
      if (keys->destroyed || keys->wrapped.size() < version) {
        throw Error(ErrorCode::CryptoFailure, "the keys of tenant \"" + tenant.str() + "\" changed during seal");
      }
      auto it = keys->cache.find(version);
      if (it == keys->cache.end()) {
        throw Error(ErrorCode::CryptoFailure, "the data key of tenant \"" + tenant.str() + "\" was evicted during seal");
      }
      key = &it->second.key;
    }
    const std::string ad = associated_data(tenant, kind, object_id, version);
    out.resize(kHeader + plaintext.size() + kTag);
    std::memcpy(out.data(), kMagic, sizeof kMagic);
    auto* p = reinterpret_cast<unsigned char*>(out.data());
    for (int i = 0; i < 4; ++i) p[3 + i] = static_cast<unsigned char>((version >> (8 * i)) & 0xff);
    unsigned char* nonce = p + 7;
    std::memcpy(nonce, nonce_prefix_, sizeof nonce_prefix_);
    const std::uint64_t counter = nonce_counter_.fetch_add(1, std::memory_order_relaxed);
    for (int i = 0; i < 8; ++i) nonce[16 + i] = static_cast<unsigned char>((counter >> (8 * i)) & 0xff);
    crypto_aead_xchacha20poly1305_ietf_encrypt(p + kHeader, nullptr,
                                               reinterpret_cast<const unsigned char*>(plaintext.data()),
                                               plaintext.size(), reinterpret_cast<const unsigned char*>(ad.data()),
                                               ad.size(), nullptr, nonce, key->data());
  }
  for (const auto& r : reports) report(context, r);
  return out;
}

Result<std::uint32_t> EnvelopeSealer::version_of(std::string_view sealed) {
  if (sealed.size() > kFormatByte && std::memcmp(sealed.data(), kMagic, kFormatByte) == 0 &&
      sealed[kFormatByte] != kMagic[kFormatByte]) {
    return Error(ErrorCode::CryptoFailure, "sealed box has envelope format " + escape_for_message(sealed.substr(kFormatByte, 1)) +
                                               ", unknown to this build (it opens format 1: XChaCha20-Poly1305)");
  }
  if (sealed.size() < kHeader + kTag || std::memcmp(sealed.data(), kMagic, sizeof kMagic) != 0) {
    return Error(ErrorCode::InvalidArgument, "not a sealed box (bad header or too short)");
  }
  return get_u32(sealed.data() + 3);
}

Result<std::string> EnvelopeSealer::open(const TenantContext& context, std::string_view kind,
                                         std::string_view object_id, std::string_view sealed) {
  context.check_usable();
  const TenantId& tenant = context.tenant();
  auto parsed = version_of(sealed);
  if (!parsed && parsed.error().code() == ErrorCode::CryptoFailure) {
    return Error(ErrorCode::CryptoFailure, "sealed " + escape_for_message(kind) + " \"" + escape_for_message(object_id) +
                                               "\" of tenant \"" + tenant.str() + "\": " + parsed.error().message());
  }
  if (!parsed) {
    return Error(ErrorCode::Tampered, "sealed " + escape_for_message(kind) + " \"" + escape_for_message(object_id) +
                                          "\" of tenant \"" + tenant.str() + "\" is malformed");
  }
  const std::uint32_t version = *parsed;
  auto keys = keys_of(tenant);
  std::vector<KeyAccessEvent> reports;
  std::string plain;
  bool opened = false;
  {
    const auto now = options_.clock();
    std::unique_lock unique(keys->mutex, std::defer_lock);
    std::shared_lock shared(keys->mutex);
    auto it = keys->cache.find(version);
    const bool hit = keys->loaded && !keys->destroyed && it != keys->cache.end() &&
                     now - it->second.unwrapped_at <= options_.key_cache_ttl;
    if (!hit) {
      shared.unlock();
      unique.lock();
      load_locked(context, *keys);
      if (keys->destroyed) {
        return Error(ErrorCode::CryptoFailure, "the keys of tenant \"" + tenant.str() +
                                                   "\" were destroyed; the object cannot be opened");
      }
      if (version == 0 || version > keys->wrapped.size()) {
        return Error(ErrorCode::CryptoFailure, "tenant \"" + tenant.str() + "\" has no data key version " +
                                                   std::to_string(version));
      }
      it = keys->cache.find(version);
      if (it == keys->cache.end() || now - it->second.unwrapped_at > options_.key_cache_ttl) {
        Result<KeyLease> lease = unwrap_version(context, *keys, version);
        if (!lease) return lease.error();
        keys->cache[version] = {std::move(lease).value(), now};
        it = keys->cache.find(version);
        reports.push_back({KeyAccess::Unwrap, version, {}, {}, true});
      }
    }
    const std::string ad = associated_data(tenant, kind, object_id, version);
    const auto* p = reinterpret_cast<const unsigned char*>(sealed.data());
    plain.resize(sealed.size() - kHeader - kTag);
    opened = crypto_aead_xchacha20poly1305_ietf_decrypt(
                 reinterpret_cast<unsigned char*>(plain.data()), nullptr, nullptr, p + kHeader, sealed.size() - kHeader,
                 reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), p + 7, it->second.key.data()) == 0;
  }
  if (options_.report_decrypts || !opened) {
    reports.push_back({KeyAccess::Decrypt, version, std::string(kind), std::string(object_id), opened});
  }
  for (const auto& r : reports) report(context, r);
  if (!opened) {
    sodium_memzero(plain.data(), plain.size());
    return Error(ErrorCode::Tampered, "sealed " + escape_for_message(kind) + " \"" + escape_for_message(object_id) +
                                          "\" does not open for tenant \"" + tenant.str() +
                                          "\" (altered, or sealed for another tenant or object)");
  }
  return plain;
}

std::uint32_t EnvelopeSealer::rotate(const TenantContext& context) {
  context.check_usable();
  if (!may_manage_keys(context)) {
    throw Error(ErrorCode::PermissionDenied, "rotating keys needs capability admin:keys (actor \"" + context.actor() + "\")");
  }
  const TenantId& tenant = context.tenant();
  auto keys = keys_of(tenant);
  std::uint32_t version = 0;
  {
    std::unique_lock unique(keys->mutex);
    load_locked(context, *keys);
    if (keys->destroyed) {
      throw Error(ErrorCode::CryptoFailure, "the keys of tenant \"" + tenant.str() + "\" were destroyed");
    }
    // Unwrap every existing data key first, so a failure leaves the keyring as it was.
    std::vector<KeyLease> plain;
    for (std::uint32_t existing = 1; existing <= keys->wrapped.size(); ++existing) {
      Result<KeyLease> lease = unwrap_version(context, *keys, existing);
      if (!lease) throw lease.error();
      plain.push_back(std::move(lease).value());
    }
    provider_.rotate(context);
    plain.push_back(KeyLease::random());
    std::vector<WrappedKey> next;
    for (const auto& k : plain) next.push_back(provider_.wrap(context, k));
    store_keyring(keyring_path(keyring_dir_, tenant), next);
    keys->wrapped = std::move(next);
    keys->cache.clear();
    version = static_cast<std::uint32_t>(keys->wrapped.size());
    keys->cache[version] = {std::move(plain.back()), options_.clock()};
  }
  report(context, {KeyAccess::Rotate, version, {}, {}, true});
  return version;
}

void EnvelopeSealer::destroy(const TenantContext& context) {
  context.check_usable();
  if (!may_manage_keys(context)) {
    throw Error(ErrorCode::PermissionDenied, "destroying keys needs capability admin:keys (actor \"" + context.actor() + "\")");
  }
  const TenantId& tenant = context.tenant();
  auto keys = keys_of(tenant);
  {
    std::unique_lock unique(keys->mutex);
    provider_.destroy(context);
    keys->cache.clear();  // KeyLease destructors zero the keys
    keys->wrapped.clear();
    keys->destroyed = true;
    keys->loaded = true;
    std::error_code ec;
    std::filesystem::remove(keyring_path(keyring_dir_, tenant), ec);
    tenantai::detail::sync_directory(keyring_dir_);
  }
  report(context, {KeyAccess::Destroy, 0, {}, {}, true});
}

std::uint32_t EnvelopeSealer::current_version(const TenantContext& context) {
  context.check_usable();
  auto keys = keys_of(context.tenant());
  std::unique_lock unique(keys->mutex);
  load_locked(context, *keys);
  return static_cast<std::uint32_t>(keys->wrapped.size());
}

}  // namespace tenantai::crypto
