#include "manifest.h"

#include <nlohmann/json.hpp>
#include <tenantai/core/error.h>
#include <tenantai/core/tenant_id.h>

#include "layout.h"

namespace tenantai::backup {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::filesystem::path& path, const std::string& why) {
  throw Error(ErrorCode::InvalidArgument, "backup manifest " + path.string() + " " + why);
}

json audit_json(const ManifestTenant& t) {
  if (!t.audit) return nullptr;
  return {{"signed_size", t.audit->signed_size}, {"signed_root", t.audit->signed_root}, {"events", t.audit->events}};
}

ManifestFile file_of(const json& j, const std::filesystem::path& path) {
  ManifestFile f;
  f.path = j.at("path").get<std::string>();
  if (!is_safe_relative(f.path)) bad(path, "names a file outside the data_dir: \"" + escape_for_message(f.path) + "\"");
  f.owner = j.at("owner").get<std::string>();
  f.tenant = j.value("tenant", std::string());
  f.size = j.at("size").get<std::uint64_t>();
  f.mode = j.at("mode").get<unsigned>() & 0777;
  f.blake2b = j.at("blake2b").get<std::string>();
  return f;
}

ManifestTenant tenant_of(const json& j) {
  ManifestTenant t;
  t.id = j.at("id").get<std::string>();
  t.audit_error = j.value("audit_error", std::string());
  const json& a = j.at("audit");
  if (!a.is_null()) {
    t.audit = AuditSignedState{a.at("signed_size").get<std::uint64_t>(), a.at("signed_root").get<std::string>(),
                               a.at("events").get<std::uint64_t>()};
  }
  return t;
}

}  // namespace

const ManifestTenant* Manifest::find_tenant(const std::string& id) const {
  for (const auto& t : tenants) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

std::string to_json(const Manifest& m) {
  json files = json::array();
  for (const auto& f : m.files) {
    json entry{{"path", f.path}, {"owner", f.owner}, {"size", f.size}, {"mode", f.mode}, {"blake2b", f.blake2b}};
    if (!f.tenant.empty()) entry["tenant"] = f.tenant;
    files.push_back(std::move(entry));
  }
  json tenants = json::array();
  for (const auto& t : m.tenants) {
    json entry{{"id", t.id}, {"audit", audit_json(t)}};
    if (!t.audit_error.empty()) entry["audit_error"] = t.audit_error;
    tenants.push_back(std::move(entry));
  }
  json j{{"format", kManifestFormat}, {"version", m.version},   {"created_at", m.created_at},
         {"scope", m.scope},          {"digest", "blake2b-256"}, {"audit_verifier_key", m.audit_verifier_key},
         {"files", files},            {"tenants", tenants}};
  if (!m.tenant.empty()) j["tenant"] = m.tenant;
  return j.dump(2) + "\n";
}

Manifest parse_manifest(const std::string& text, const std::filesystem::path& path) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) bad(path, "is not JSON (damaged backup?)");
  if (j.value("format", std::string()) != kManifestFormat) bad(path, "is not a tenantai backup manifest");
  if (!j.contains("version") || !j["version"].is_number_integer()) bad(path, "has no format version");
  const int version = j["version"].get<int>();
  if (version != kManifestVersion) {
    bad(path, "has format version " + std::to_string(version) + "; this tool reads version " +
                  std::to_string(kManifestVersion) + " (made by a newer tenantai-backup?)");
  }
  if (j.value("digest", std::string()) != "blake2b-256") bad(path, "names an unknown digest algorithm");
  Manifest m;
  try {
    m.version = version;
    m.created_at = j.at("created_at").get<std::string>();
    m.scope = j.at("scope").get<std::string>();
    m.tenant = j.value("tenant", std::string());
    m.audit_verifier_key = j.at("audit_verifier_key").get<std::string>();
    for (const auto& f : j.at("files")) m.files.push_back(file_of(f, path));
    for (const auto& t : j.at("tenants")) m.tenants.push_back(tenant_of(t));
  } catch (const json::exception& e) {
    bad(path, std::string("is malformed: ") + e.what());
  }
  if (m.scope != "data_dir" && !(m.scope == "tenant" && !m.tenant.empty())) bad(path, "has an unknown scope");
  return m;
}

}  // namespace tenantai::backup
