// TenantConfig: the onboarding document of one tenant (JSON), validated field by field.
// TenantRegistry provisions every layer from it in one call.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/core/error.h"
#include "tenantai/core/tenant_id.h"

namespace tenantai::pipeline {

// Money is kept in integer micro-dollars everywhere: no floating-point drift in budgets.
using MicroUsd = std::int64_t;

struct TenantQuotas {
  std::uint32_t requests_per_minute = 60;
  std::uint32_t tokens_per_minute = 60000;
  std::uint32_t queue_limit = 32;             // queued inference requests before RateLimited
  std::uint32_t cache_entries = 1000;         // response cache entries
  std::uint64_t cache_bytes = 8u << 20;       // response cache bytes
  std::uint32_t max_request_bytes = 64u << 10;
};

struct TenantBudgets {
  std::optional<MicroUsd> daily;    // none = uncapped
  std::optional<MicroUsd> monthly;
};

struct TenantModels {
  std::string model;                    // the tenant's model (routing key for the backend)
  std::vector<std::string> adapters;    // LoRA adapters owned by this tenant
  std::string default_adapter;          // "" = base model
};

struct TenantApiKey {
  std::string actor;
  std::vector<std::string> groups;
  std::vector<std::string> capabilities;
  std::string secret;  // "tai_..." — demo/provisioning only; production issues keys instead
};

// A witness the tenant (or its auditor) runs or names for its audit log (C2SP tlog-witness).
struct AuditWitnessConfig {
  std::string host;              // from "url": "http://<host>:<port>[<path prefix>]"
  std::uint16_t port = 0;
  std::string path_prefix;
  std::string verifier_key;      // the witness's cosigner key (checked when parsed)
};

struct TenantConfig {
  explicit TenantConfig(TenantId tenant) : id(std::move(tenant)) {}

  TenantId id;
  std::string display_name;
  std::string tier = "standard";          // e.g. "free", "standard", "enterprise"
  std::uint32_t scheduler_weight = 1;     // fair-share weight (defaults by tier if absent)
  TenantQuotas quotas;
  TenantBudgets budgets;
  TenantModels models;
  std::map<std::string, std::string> prompt_overlay;  // slot → value
  bool encryption_required = false;       // seal memory, cache values and audit bodies
  bool cache_opt_out = false;             // never cache this tenant's responses
  std::optional<std::uint32_t> memory_retention_days;
  std::optional<std::uint32_t> audit_retention_days;
  // "audit_witnesses": {"quorum": q, "witnesses": [{"url": ..., "key": ...}, ...]}: the log's
  // checkpoints are published once q of them cosigned (q defaults to all).
  std::vector<AuditWitnessConfig> audit_witnesses;
  std::size_t audit_witness_quorum = 0;
  std::vector<TenantApiKey> api_keys;
};

// Parses one tenant object. Errors are InvalidArgument naming the JSON path, e.g.
// "tenants[1].budgets.daily_usd: must be a non-negative number". Unknown fields are rejected
// (a typo must not silently drop a limit).
Result<TenantConfig> parse_tenant_config(std::string_view json_text);

// Parses {"tenants": [ ... ]}; ids must be unique.
Result<std::vector<TenantConfig>> parse_tenant_configs(std::string_view json_text);

// Reads and parses a file (StorageFailure naming the file when it cannot be read).
Result<std::vector<TenantConfig>> load_tenant_configs(const std::string& path);

}  // namespace tenantai::pipeline
