#include "pipeline/audit_signers.h"

#include <sstream>

#include "core/durable_file.h"

namespace tenantai::pipeline::detail {

namespace {

constexpr std::string_view kHeader = "tenantai-audit-signer 1 alg=ed25519 wrap=key-provider";

std::string purpose_for(const TenantId& tenant) { return "audit-signer/" + tenant.str(); }

}  // namespace

AuditSigners::AuditSigners(crypto::KeyProvider& keys, std::filesystem::path dir) : keys_(keys), dir_(std::move(dir)) {}

std::filesystem::path AuditSigners::path_of(const TenantId& tenant) const { return dir_ / (tenant.str() + ".signer"); }

std::shared_ptr<const audit::CheckpointSigner> AuditSigners::signer_for(const TenantId& tenant) {
  std::lock_guard lock(mutex_);
  auto& slot = cache_[tenant];
  if (!slot) slot = std::filesystem::exists(path_of(tenant)) ? load(tenant) : create(tenant);
  return slot;
}

std::pair<std::shared_ptr<const audit::CheckpointSigner>, std::string> AuditSigners::fresh(const TenantId& tenant) {
  const crypto::KeyLease seed = crypto::KeyLease::random();
  auto signer = std::make_shared<const audit::CheckpointSigner>(audit::CheckpointSigner::from_seed(
      std::string_view(reinterpret_cast<const char*>(seed.data()), seed.size()), audit::origin_for(tenant)));
  const crypto::WrappedKey wrapped = keys_.wrap_service_key(purpose_for(tenant), seed);
  std::string text = std::string(kHeader) + "\n" + std::to_string(wrapped.kek_version) + " " +
                     audit::to_base64(reinterpret_cast<const unsigned char*>(wrapped.blob.data()), wrapped.blob.size()) +
                     "\n" + signer->verifier_key() + "\n";
  return {std::move(signer), std::move(text)};
}

std::shared_ptr<const audit::CheckpointSigner> AuditSigners::rotate(
    const TenantId& tenant, const std::function<void(std::shared_ptr<const audit::CheckpointSigner>)>& apply) {
  std::lock_guard lock(mutex_);
  auto [signer, text] = fresh(tenant);
  apply(signer);
  tenantai::detail::write_file_atomic(path_of(tenant), text);
  cache_[tenant] = signer;
  return signer;
}

std::shared_ptr<const audit::CheckpointSigner> AuditSigners::create(const TenantId& tenant) {
  auto [signer, text] = fresh(tenant);
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw Error(ErrorCode::StorageFailure, "cannot create " + dir_.string() + ": " + ec.message());
  tenantai::detail::write_file_atomic(path_of(tenant), text);
  return signer;
}

std::shared_ptr<const audit::CheckpointSigner> AuditSigners::load(const TenantId& tenant) {
  const auto path = path_of(tenant);
  std::istringstream in(tenantai::detail::read_file(path));
  std::string header;
  std::string version;
  std::string blob;
  std::string verifier_key;
  auto bad = [&](const std::string& why) { return Error(ErrorCode::Tampered, "audit signer " + path.string() + ": " + why); };
  if (!std::getline(in, header) || header != kHeader) throw bad("unknown header (want \"" + std::string(kHeader) + "\")");
  if (!(in >> version >> blob >> verifier_key)) throw bad("malformed");
  auto raw = audit::from_base64(blob);
  if (!raw || version.empty() || version.find_first_not_of("0123456789") != std::string::npos || version.size() > 9) {
    throw bad("malformed wrapped key");
  }
  auto seed = keys_.unwrap_service_key(purpose_for(tenant), crypto::WrappedKey{static_cast<std::uint32_t>(std::stoul(version)), *raw});
  if (!seed) throw Error(seed.error().code(), "audit signer " + path.string() + ": " + seed.error().message());
  auto signer = std::make_shared<const audit::CheckpointSigner>(audit::CheckpointSigner::from_seed(
      std::string_view(reinterpret_cast<const char*>(seed->data()), seed->size()), audit::origin_for(tenant)));
  if (signer->verifier_key() != verifier_key) throw bad("its public key line does not match the sealed key");
  return signer;
}

std::string AuditSigners::verifier_key_in(const std::filesystem::path& dir, const TenantId& tenant) {
  const auto path = dir / (tenant.str() + ".signer");
  if (!std::filesystem::exists(path)) return {};
  std::istringstream in(tenantai::detail::read_file(path));
  std::string header;
  std::string wrapped;
  std::string verifier_key;
  std::getline(in, header);
  std::getline(in, wrapped);
  std::getline(in, verifier_key);
  return verifier_key;
}

}  // namespace tenantai::pipeline::detail
