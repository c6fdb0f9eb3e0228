#include "retrieval/store_file_format.h"

#include <sodium.h>

#include <cstring>

#include "tenantai/core/error.h"

namespace tenantai::retrieval::detail {
namespace {

constexpr char kMagic[8] = {'T', 'A', 'I', 'V', 'E', 'C', 'S', '1'};
constexpr std::uint32_t kFormatVersion = 1;
constexpr std::size_t kTrailer = crypto_generichash_BYTES;  // 32

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

void put_string(std::string& out, const std::string& s) {
  put(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}

// Bounds-checked reader over the verified body.
class Reader {
 public:
  Reader(const std::string& bytes, std::size_t end, const std::string& path) : bytes_(bytes), end_(end), path_(path) {}

  template <typename T>
  T get() {
    need(sizeof(T));
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  std::string get_string(std::size_t limit) {
    const auto n = get<std::uint32_t>();
    if (n > limit) malformed("a string of " + std::to_string(n) + " bytes exceeds the limit");
    need(n);
    std::string s(bytes_.data() + pos_, n);
    pos_ += n;
    return s;
  }
  void get_floats(float* out, std::size_t n) {
    need(n * sizeof(float));
    std::memcpy(out, bytes_.data() + pos_, n * sizeof(float));
    pos_ += n * sizeof(float);
  }
  bool done() const noexcept { return pos_ == end_; }
  [[noreturn]] void malformed(const std::string& what) const {
    throw Error(ErrorCode::StorageFailure, "vector store file \"" + path_ + "\" is malformed: " + what);
  }

 private:
  void need(std::size_t n) const {
    if (end_ - pos_ < n) malformed("a record runs past the end of the data");
  }
  const std::string& bytes_;
  std::size_t end_;
  const std::string& path_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string blake2b_hex(const std::string& bytes) {
  if (sodium_init() < 0) throw Error(ErrorCode::CryptoFailure, "libsodium failed to initialise");
  unsigned char digest[crypto_generichash_BYTES];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr, 0);
  char hex[2 * sizeof digest + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

std::string encode_tenant_file(const TenantId& tenant, const TenantRows& rows, Metric metric) {
  std::string out(kMagic, sizeof kMagic);
  put(out, kFormatVersion);
  put(out, static_cast<std::uint32_t>(rows.dim()));
  put(out, static_cast<std::uint32_t>(metric));
  put_string(out, tenant.str());
  put(out, static_cast<std::uint64_t>(rows.size()));
  out.reserve(out.size() + rows.size() * (rows.dim() * sizeof(float) + 32) + kTrailer);
  for (std::uint32_t r = 0; r < rows.size(); ++r) {
    const Document d = rows.document(r);
    put_string(out, d.id);
    put(out, static_cast<std::uint32_t>(d.acl_groups.size()));
    for (const auto& g : d.acl_groups) put_string(out, g);
    put(out, static_cast<std::uint32_t>(d.metadata.size()));
    for (const auto& [key, value] : d.metadata) {
      put_string(out, key);
      if (const auto* i = std::get_if<std::int64_t>(&value)) {
        put(out, std::uint8_t{0});
        put(out, *i);
      } else {
        put(out, std::uint8_t{1});
        put_string(out, std::get<std::string>(value));
      }
    }
    out.append(reinterpret_cast<const char*>(d.vector.data()), d.vector.size() * sizeof(float));
  }
  if (sodium_init() < 0) throw Error(ErrorCode::CryptoFailure, "libsodium failed to initialise");
  unsigned char digest[kTrailer];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(out.data()), out.size(), nullptr, 0);
  out.append(reinterpret_cast<const char*>(digest), sizeof digest);
  return out;
}

std::vector<Document> decode_tenant_file(const std::string& bytes, const std::string& path, const TenantId& tenant,
                                         std::size_t dim, Metric metric) {
  if (bytes.size() < sizeof kMagic + 4 * sizeof(std::uint32_t) + sizeof(std::uint64_t) + kTrailer) {
    throw Error(ErrorCode::StorageFailure, "vector store file \"" + path + "\" is truncated (" +
                                               std::to_string(bytes.size()) + " bytes)");
  }
  const std::size_t body = bytes.size() - kTrailer;
  unsigned char digest[kTrailer];
  if (sodium_init() < 0) throw Error(ErrorCode::CryptoFailure, "libsodium failed to initialise");
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(bytes.data()), body, nullptr, 0);
  if (std::memcmp(kMagic, bytes.data(), sizeof kMagic) != 0) {
    throw Error(ErrorCode::StorageFailure, "\"" + path + "\" is not a tenantai vector store file");
  }
  if (sodium_memcmp(digest, bytes.data() + body, kTrailer) != 0) {
    throw Error(ErrorCode::Tampered, "vector store file \"" + path + "\" fails its checksum (corrupt or altered)");
  }
  Reader in(bytes, body, path);
  for (std::size_t i = 0; i < sizeof kMagic; ++i) (void)in.get<char>();
  if (in.get<std::uint32_t>() != kFormatVersion) in.malformed("unknown format version");
  if (in.get<std::uint32_t>() != dim) in.malformed("its dimension differs from the manifest's");
  if (in.get<std::uint32_t>() != static_cast<std::uint32_t>(metric)) in.malformed("its metric differs from the manifest's");
  const std::string owner = in.get_string(TenantId::kMaxLength);
  if (owner != tenant.str()) {
    throw Error(ErrorCode::Tampered, "vector store file \"" + path + "\" belongs to tenant \"" +
                                         escape_for_message(owner) + "\", not \"" + tenant.str() + "\"");
  }
  const auto count = in.get<std::uint64_t>();
  if (count > body / (dim * sizeof(float))) in.malformed("its document count exceeds its size");
  std::vector<Document> docs(count);
  for (auto& d : docs) {
    d.id = in.get_string(1 << 16);
    const auto groups = in.get<std::uint32_t>();
    if (groups > 1 << 16) in.malformed("too many ACL groups");
    for (std::uint32_t g = 0; g < groups; ++g) d.acl_groups.push_back(in.get_string(1 << 16));
    const auto entries = in.get<std::uint32_t>();
    if (entries > 1 << 16) in.malformed("too many metadata entries");
    for (std::uint32_t e = 0; e < entries; ++e) {
      std::string key = in.get_string(1 << 16);
      const auto type = in.get<std::uint8_t>();
      if (type == 0) {
        d.metadata.emplace(std::move(key), in.get<std::int64_t>());
      } else if (type == 1) {
        d.metadata.emplace(std::move(key), in.get_string(1 << 16));
      } else {
        in.malformed("unknown metadata type");
      }
    }
    d.vector.resize(dim);
    in.get_floats(d.vector.data(), dim);
  }
  if (!in.done()) in.malformed("trailing bytes after the last document");
  return docs;
}


}  // namespace tenantai::retrieval::detail
