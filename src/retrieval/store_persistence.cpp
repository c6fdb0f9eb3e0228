// save() / open(): one checksummed file per tenant plus a MANIFEST naming every file with its
// size and BLAKE2b-256, written temp + fsync + rename, the manifest last. File names carry a
// generation number, so a new save never overwrites a file the current manifest names: a crash
// at any point leaves the previous save (or the new one) intact.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <shared_mutex>

#include "core/durable_file.h"
#include "retrieval/store_file_format.h"
#include "retrieval/store_impl.h"
#include "retrieval/validation.h"

namespace tenantai::retrieval {
namespace {

namespace fs = std::filesystem;
constexpr const char* kManifest = "MANIFEST";
constexpr const char* kFormat = "tenantai-vector-store";

// Generation of "<tenant>.<generation>.tvec", or 0 for other names.
std::uint64_t generation_of(const std::string& name) {
  if (name.size() < 6 || name.substr(name.size() - 5) != ".tvec") return 0;
  const std::string stem = name.substr(0, name.size() - 5);
  const auto dot = stem.rfind('.');
  if (dot == std::string::npos) return 0;
  try {
    return std::stoull(stem.substr(dot + 1));
  } catch (const std::exception&) {
    return 0;
  }
}

[[noreturn]] void bad_manifest(const std::string& path, const std::string& why, ErrorCode code = ErrorCode::StorageFailure) {
  throw Error(code, "vector store manifest \"" + path + "\" " + why);
}

}  // namespace

void VectorStore::save(const std::string& directory) const {
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec) throw Error(ErrorCode::StorageFailure, "cannot create directory \"" + directory + "\": " + ec.message());
  std::uint64_t generation = 0;
  for (const auto& entry : fs::directory_iterator(directory, ec)) {
    generation = std::max(generation, generation_of(entry.path().filename().string()));
  }
  if (ec) throw Error(ErrorCode::StorageFailure, "cannot list directory \"" + directory + "\": " + ec.message());
  ++generation;

  auto tenants = impl_->all();
  std::sort(tenants.begin(), tenants.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  nlohmann::json files = nlohmann::json::array();
  for (const auto& [tenant, partition] : tenants) {
    std::string bytes;
    {
      std::shared_lock lock(partition->mutex);
      if (partition->dropped || partition->rows.size() == 0) continue;
      bytes = detail::encode_tenant_file(tenant, partition->rows, options_.metric);
    }
    const std::string name = tenant.str() + "." + std::to_string(generation) + ".tvec";
    tenantai::detail::write_file_atomic(fs::path(directory) / name, bytes, 0644);
    files.push_back({{"tenant", tenant.str()}, {"file", name}, {"bytes", bytes.size()}, {"blake2b", detail::blake2b_hex(bytes)}});
  }
  tenantai::detail::sync_directory(directory);

  nlohmann::json manifest = {
      {"format", kFormat},
      {"version", 1},
      {"generation", generation},
      {"dim", options_.dim},
      {"metric", std::string(to_string(options_.metric))},
      {"max_id_bytes", options_.max_id_bytes},
      {"max_acl_groups", options_.max_acl_groups},
      {"max_metadata_entries", options_.max_metadata_entries},
      {"max_metadata_bytes", options_.max_metadata_bytes},
      {"max_k", options_.max_k},
      {"tenants", files},
  };
  const std::string body = manifest.dump(1);
  tenantai::detail::write_file_atomic(fs::path(directory) / kManifest, body + "\n" + detail::blake2b_hex(body) + "\n", 0644);
  tenantai::detail::sync_directory(directory);

  // The new manifest is durable: files of older generations are garbage now.
  for (const auto& entry : fs::directory_iterator(directory, ec)) {
    const std::string name = entry.path().filename().string();
    const auto g = generation_of(name);
    const bool stale_tmp = name.size() > 4 && name.substr(name.size() - 4) == ".tmp";
    if ((g != 0 && g != generation) || stale_tmp) fs::remove(entry.path(), ec);
  }
}

std::unique_ptr<VectorStore> VectorStore::open(const std::string& directory, const AnnOptions& ann) {
  const std::string manifest_path = (fs::path(directory) / kManifest).string();
  const std::string text = tenantai::detail::read_file(manifest_path);
  // Body, newline, 64 hex digits, newline.
  if (text.size() < 66 || text.back() != '\n') bad_manifest(manifest_path, "is truncated");
  const auto split = text.rfind('\n', text.size() - 2);
  if (split == std::string::npos) bad_manifest(manifest_path, "is truncated");
  const std::string body = text.substr(0, split);
  const std::string digest = text.substr(split + 1, text.size() - split - 2);
  if (digest.size() != 64) bad_manifest(manifest_path, "is truncated or has no checksum line");
  if (digest != detail::blake2b_hex(body)) bad_manifest(manifest_path, "fails its checksum (corrupt or altered)", ErrorCode::Tampered);

  VectorStoreOptions options;
  nlohmann::json manifest;
  std::vector<std::tuple<TenantId, std::string, std::uint64_t, std::string>> entries;
  try {
    manifest = nlohmann::json::parse(body);
    if (manifest.at("format").get<std::string>() != kFormat || manifest.at("version").get<int>() != 1) {
      bad_manifest(manifest_path, "has an unknown format or version");
    }
    options.dim = manifest.at("dim").get<std::size_t>();
    const auto metric = manifest.at("metric").get<std::string>();
    if (metric == "inner_product") {
      options.metric = Metric::InnerProduct;
    } else if (metric == "cosine") {
      options.metric = Metric::Cosine;
    } else if (metric == "l2") {
      options.metric = Metric::L2;
    } else {
      bad_manifest(manifest_path, "names an unknown metric \"" + escape_for_message(metric) + "\"");
    }
    options.max_id_bytes = manifest.at("max_id_bytes").get<std::size_t>();
    options.max_acl_groups = manifest.at("max_acl_groups").get<std::size_t>();
    options.max_metadata_entries = manifest.at("max_metadata_entries").get<std::size_t>();
    options.max_metadata_bytes = manifest.at("max_metadata_bytes").get<std::size_t>();
    options.max_k = manifest.at("max_k").get<std::size_t>();
    for (const auto& f : manifest.at("tenants")) {
      auto tenant = TenantId::parse(f.at("tenant").get<std::string>());
      if (!tenant) bad_manifest(manifest_path, "names an invalid tenant: " + tenant.error().message());
      const auto file = f.at("file").get<std::string>();
      if (file.find('/') != std::string::npos || file.rfind(tenant->str() + ".", 0) != 0) {
        bad_manifest(manifest_path, "names a file outside the tenant's own: \"" + escape_for_message(file) + "\"");
      }
      entries.emplace_back(std::move(*tenant), file, f.at("bytes").get<std::uint64_t>(), f.at("blake2b").get<std::string>());
    }
  } catch (const nlohmann::json::exception& e) {
    bad_manifest(manifest_path, std::string("is malformed: ") + e.what());
  }
  options.ann = ann;
  auto store = std::make_unique<VectorStore>(options);

  for (auto& [tenant, file, size, hash] : entries) {
    const std::string path = (fs::path(directory) / file).string();
    const std::string bytes = tenantai::detail::read_file(path);
    if (bytes.size() != size) {
      throw Error(ErrorCode::StorageFailure, "vector store file \"" + path + "\" is truncated or extended: " +
                                                 std::to_string(bytes.size()) + " bytes, the manifest says " +
                                                 std::to_string(size));
    }
    if (detail::blake2b_hex(bytes) != hash) {
      throw Error(ErrorCode::Tampered, "vector store file \"" + path + "\" does not match its manifest checksum");
    }
    auto docs = detail::decode_tenant_file(bytes, path, tenant, options.dim, options.metric);
    auto partition = store->impl_->get_or_create(tenant);
    std::unique_lock lock(partition->mutex);
    if (partition->rows.size() != 0) {
      throw Error(ErrorCode::StorageFailure, "vector store manifest \"" + manifest_path + "\" lists tenant \"" +
                                                 tenant.str() + "\" twice");
    }
    partition->rows.reserve_more(docs.size());
    for (auto& d : docs) {
      if (d.id.empty() || partition->rows.find(d.id) != detail::IdIndex::kNone) {
        throw Error(ErrorCode::StorageFailure, "vector store file \"" + path + "\" holds an empty or repeated document id");
      }
      partition->rows.append(std::move(d));
    }
    ++partition->version;
  }
  // Large tenants get their ANN index again (in the background unless configured otherwise).
  for (auto& [tenant, partition] : store->impl_->all()) store->impl_->after_write(partition);
  return store;
}

}  // namespace tenantai::retrieval
