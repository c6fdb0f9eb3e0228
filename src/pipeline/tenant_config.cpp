#include "tenantai/pipeline/tenant_config.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tenantai/audit/witness.h"

namespace tenantai::pipeline {
namespace {

using nlohmann::json;

Error bad(const std::string& path, const std::string& what) {
  return Error(ErrorCode::InvalidArgument, path + ": " + what);
}

void reject_unknown(const json& obj, const std::string& path, std::initializer_list<const char*> known) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (const char* k : known) ok = ok || it.key() == k;
    if (!ok) throw bad(path + "." + it.key(), "unknown field");
  }
}

const json& object_at(const json& j, const std::string& path) {
  if (!j.is_object()) throw bad(path, "must be an object");
  return j;
}

std::string string_at(const json& j, const std::string& path) {
  if (!j.is_string()) throw bad(path, "must be a string");
  return j.get<std::string>();
}

std::uint64_t uint_at(const json& j, const std::string& path, std::uint64_t max) {
  if (!j.is_number_integer() && !j.is_number_unsigned()) throw bad(path, "must be a non-negative integer");
  if (j.is_number_integer() && j.get<std::int64_t>() < 0) throw bad(path, "must be a non-negative integer");
  const auto v = j.get<std::uint64_t>();
  if (v > max) throw bad(path, "must be at most " + std::to_string(max));
  return v;
}

MicroUsd usd_at(const json& j, const std::string& path) {
  if (!j.is_number()) throw bad(path, "must be a non-negative number of US dollars");
  const double usd = j.get<double>();
  if (!(usd >= 0) || usd > 1e9) throw bad(path, "must be a non-negative number of US dollars (at most 1e9)");
  return static_cast<MicroUsd>(std::llround(usd * 1e6));
}

std::vector<std::string> strings_at(const json& j, const std::string& path) {
  if (!j.is_array()) throw bad(path, "must be an array of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < j.size(); ++i) out.push_back(string_at(j[i], path + "[" + std::to_string(i) + "]"));
  return out;
}

std::uint32_t default_weight(const std::string& tier) {
  if (tier == "enterprise") return 4;
  if (tier == "standard") return 2;
  return 1;
}

// "http://<host>:<port>[<path prefix>]" (no TLS: a witness on loopback or behind the vendor's
// own TLS terminator).
AuditWitnessConfig witness_url_at(const json& j, const std::string& path) {
  const std::string url = string_at(j, path);
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) throw bad(path, "must start with http://");
  const std::string rest = url.substr(kScheme.size());
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  const auto colon = authority.rfind(':');
  if (colon == std::string::npos || colon == 0) throw bad(path, "must name a host and a port");
  const std::string port = authority.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) == 0 || std::stoul(port) > 65535) {
    throw bad(path, "has no valid port");
  }
  AuditWitnessConfig w;
  w.host = authority.substr(0, colon);
  w.port = static_cast<std::uint16_t>(std::stoul(port));
  w.path_prefix = slash == std::string::npos ? "" : rest.substr(slash);
  if (!w.path_prefix.empty() && w.path_prefix.back() == '/') w.path_prefix.pop_back();
  return w;
}

void parse_witnesses(const json& j, const std::string& path, TenantConfig& c) {
  const json& o = object_at(j, path);
  reject_unknown(o, path, {"quorum", "witnesses"});
  if (!o.contains("witnesses") || !o["witnesses"].is_array() || o["witnesses"].empty()) {
    throw bad(path + ".witnesses", "must be a non-empty array");
  }
  for (std::size_t i = 0; i < o["witnesses"].size(); ++i) {
    const std::string wp = path + ".witnesses[" + std::to_string(i) + "]";
    const json& w = object_at(o["witnesses"][i], wp);
    reject_unknown(w, wp, {"url", "key"});
    if (!w.contains("url") || !w.contains("key")) throw bad(wp, "needs \"url\" and \"key\"");
    AuditWitnessConfig witness = witness_url_at(w["url"], wp + ".url");
    witness.verifier_key = string_at(w["key"], wp + ".key");
    auto key = audit::CosignatureVerifier::parse(witness.verifier_key);
    if (!key) throw bad(wp + ".key", key.error().message());
    c.audit_witnesses.push_back(std::move(witness));
  }
  c.audit_witness_quorum = c.audit_witnesses.size();
  if (o.contains("quorum")) {
    c.audit_witness_quorum = static_cast<std::size_t>(uint_at(o["quorum"], path + ".quorum", c.audit_witnesses.size()));
    if (c.audit_witness_quorum == 0) throw bad(path + ".quorum", "must be at least 1");
  }
}

TenantConfig parse_one(const json& j, const std::string& path) {
  object_at(j, path);
  reject_unknown(j, path, {"id", "display_name", "tier", "scheduler_weight", "quotas", "budgets", "models",
                           "prompt_overlay", "encryption_required", "cache_opt_out", "retention", "api_keys",
                           "audit_witnesses"});
  if (!j.contains("id")) throw bad(path + ".id", "is required (there is no default tenant)");
  auto id = TenantId::parse(string_at(j["id"], path + ".id"));
  if (!id.ok()) throw bad(path + ".id", id.error().message());
  TenantConfig c(std::move(id).value());
  c.display_name = j.contains("display_name") ? string_at(j["display_name"], path + ".display_name") : c.id.str();
  if (j.contains("tier")) {
    c.tier = string_at(j["tier"], path + ".tier");
    if (c.tier != "free" && c.tier != "standard" && c.tier != "enterprise") {
      throw bad(path + ".tier", "must be one of free, standard, enterprise");
    }
  }
  c.scheduler_weight = j.contains("scheduler_weight")
                           ? static_cast<std::uint32_t>(uint_at(j["scheduler_weight"], path + ".scheduler_weight", 1000))
                           : default_weight(c.tier);
  if (c.scheduler_weight == 0) throw bad(path + ".scheduler_weight", "must be at least 1");

  if (j.contains("quotas")) {
    const std::string p = path + ".quotas";
    const json& q = object_at(j["quotas"], p);
    reject_unknown(q, p, {"requests_per_minute", "tokens_per_minute", "queue_limit", "cache_entries", "cache_bytes",
                          "max_request_bytes"});
    auto u32 = [&](const char* k, std::uint32_t& out) {
      if (q.contains(k)) out = static_cast<std::uint32_t>(uint_at(q[k], p + "." + k, 0xffffffffu));
    };
    u32("requests_per_minute", c.quotas.requests_per_minute);
    u32("tokens_per_minute", c.quotas.tokens_per_minute);
    u32("queue_limit", c.quotas.queue_limit);
    u32("cache_entries", c.quotas.cache_entries);
    u32("max_request_bytes", c.quotas.max_request_bytes);
    if (q.contains("cache_bytes")) c.quotas.cache_bytes = uint_at(q["cache_bytes"], p + ".cache_bytes", 1ull << 40);
  }
  if (j.contains("budgets")) {
    const std::string p = path + ".budgets";
    const json& b = object_at(j["budgets"], p);
    reject_unknown(b, p, {"daily_usd", "monthly_usd"});
    if (b.contains("daily_usd")) c.budgets.daily = usd_at(b["daily_usd"], p + ".daily_usd");
    if (b.contains("monthly_usd")) c.budgets.monthly = usd_at(b["monthly_usd"], p + ".monthly_usd");
  }
  if (!j.contains("models")) throw bad(path + ".models", "is required (which model serves this tenant)");
  {
    const std::string p = path + ".models";
    const json& m = object_at(j["models"], p);
    reject_unknown(m, p, {"model", "adapters", "default_adapter"});
    if (!m.contains("model")) throw bad(p + ".model", "is required");
    c.models.model = string_at(m["model"], p + ".model");
    if (c.models.model.empty()) throw bad(p + ".model", "must not be empty");
    if (m.contains("adapters")) c.models.adapters = strings_at(m["adapters"], p + ".adapters");
    if (m.contains("default_adapter")) {
      c.models.default_adapter = string_at(m["default_adapter"], p + ".default_adapter");
      bool owned = c.models.default_adapter.empty();
      for (const auto& a : c.models.adapters) owned = owned || a == c.models.default_adapter;
      if (!owned) throw bad(p + ".default_adapter", "must be one of this tenant's adapters");
    }
  }
  if (j.contains("prompt_overlay")) {
    const std::string p = path + ".prompt_overlay";
    const json& o = object_at(j["prompt_overlay"], p);
    for (auto it = o.begin(); it != o.end(); ++it) c.prompt_overlay[it.key()] = string_at(it.value(), p + "." + it.key());
  }
  if (j.contains("encryption_required")) {
    if (!j["encryption_required"].is_boolean()) throw bad(path + ".encryption_required", "must be true or false");
    c.encryption_required = j["encryption_required"].get<bool>();
  }
  if (j.contains("cache_opt_out")) {
    if (!j["cache_opt_out"].is_boolean()) throw bad(path + ".cache_opt_out", "must be true or false");
    c.cache_opt_out = j["cache_opt_out"].get<bool>();
  }
  if (j.contains("retention")) {
    const std::string p = path + ".retention";
    const json& r = object_at(j["retention"], p);
    reject_unknown(r, p, {"memory_days", "audit_days"});
    if (r.contains("memory_days")) c.memory_retention_days = static_cast<std::uint32_t>(uint_at(r["memory_days"], p + ".memory_days", 36500));
    if (r.contains("audit_days")) c.audit_retention_days = static_cast<std::uint32_t>(uint_at(r["audit_days"], p + ".audit_days", 36500));
  }
  if (j.contains("audit_witnesses")) parse_witnesses(j["audit_witnesses"], path + ".audit_witnesses", c);
  if (j.contains("api_keys")) {
    const std::string p = path + ".api_keys";
    if (!j["api_keys"].is_array()) throw bad(p, "must be an array");
    for (std::size_t i = 0; i < j["api_keys"].size(); ++i) {
      const std::string kp = p + "[" + std::to_string(i) + "]";
      const json& k = object_at(j["api_keys"][i], kp);
      reject_unknown(k, kp, {"actor", "groups", "capabilities", "secret"});
      TenantApiKey key;
      if (!k.contains("actor")) throw bad(kp + ".actor", "is required");
      key.actor = string_at(k["actor"], kp + ".actor");
      if (key.actor.empty()) throw bad(kp + ".actor", "must not be empty");
      if (k.contains("groups")) key.groups = strings_at(k["groups"], kp + ".groups");
      if (k.contains("capabilities")) key.capabilities = strings_at(k["capabilities"], kp + ".capabilities");
      if (k.contains("secret")) key.secret = string_at(k["secret"], kp + ".secret");
      c.api_keys.push_back(std::move(key));
    }
  }
  return c;
}

template <typename F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error& e) {
    return e;
  } catch (const json::exception& e) {
    return Error(ErrorCode::InvalidArgument, std::string("malformed tenant JSON: ") + e.what());
  }
}

}  // namespace

Result<TenantConfig> parse_tenant_config(std::string_view json_text) {
  return guarded([&]() -> Result<TenantConfig> { return parse_one(json::parse(json_text), "tenant"); });
}

Result<std::vector<TenantConfig>> parse_tenant_configs(std::string_view json_text) {
  return guarded([&]() -> Result<std::vector<TenantConfig>> {
    const json root = json::parse(json_text);
    if (!root.is_object() || !root.contains("tenants") || !root["tenants"].is_array()) {
      throw bad("$", "must be an object with a \"tenants\" array");
    }
    std::vector<TenantConfig> out;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < root["tenants"].size(); ++i) {
      const std::string path = "tenants[" + std::to_string(i) + "]";
      auto c = parse_one(root["tenants"][i], path);
      if (!seen.insert(c.id.str()).second) throw bad(path + ".id", "duplicate tenant id \"" + c.id.str() + "\"");
      out.push_back(std::move(c));
    }
    return out;
  });
}

Result<std::vector<TenantConfig>> load_tenant_configs(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::StorageFailure, "cannot read tenant file " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  auto r = parse_tenant_configs(buf.str());
  if (!r.ok()) return Error(r.error().code(), path + ": " + r.error().message());
  return r;
}

}  // namespace tenantai::pipeline
