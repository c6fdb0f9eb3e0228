#include "tenantai/audit/event.h"

#include <nlohmann/json.hpp>

#include <array>
#include <utility>

namespace tenantai::audit {

namespace {
constexpr std::array<std::pair<Operation, std::string_view>, 16> kNames = {{
    {Operation::Read, "read"},
    {Operation::Write, "write"},
    {Operation::Decrypt, "decrypt"},
    {Operation::Infer, "infer"},
    {Operation::Retrieve, "retrieve"},
    {Operation::CacheHit, "cache_hit"},
    {Operation::Export, "export"},
    {Operation::Erase, "erase"},
    {Operation::OperatorAccess, "operator_access"},
    {Operation::KeyUnwrap, "key_unwrap"},
    {Operation::KeyRotate, "key_rotate"},
    {Operation::KeyDestroy, "key_destroy"},
    {Operation::GrantOperatorAccess, "grant_operator_access"},
    {Operation::RevokeOperatorAccess, "revoke_operator_access"},
    {Operation::ToolCall, "tool_call"},
    {Operation::Other, "other"},
}};
}  // namespace

std::string_view to_string(Operation op) noexcept {
  for (const auto& [o, name] : kNames) {
    if (o == op) return name;
  }
  return "unknown";
}

Result<Operation> parse_operation(std::string_view text) {
  for (const auto& [o, name] : kNames) {
    if (name == text) return o;
  }
  return Error(ErrorCode::InvalidArgument, "unknown audit operation \"" + escape_for_message(text) + "\"");
}

std::string to_json_line(const TenantId& tenant, std::uint64_t index, const AuditEvent& event) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(event.timestamp.time_since_epoch()).count();
  nlohmann::ordered_json j;
  j["type"] = "event";
  j["index"] = index;
  j["time_unix_nano"] = static_cast<std::int64_t>(ms) * 1000000;
  j["tenantai.tenant.id"] = tenant.str();
  j["tenantai.operation"] = std::string(to_string(event.operation));
  j["enduser.id"] = event.actor;
  j["tenantai.target"] = event.target;
  if (!event.model_id.empty()) j["gen_ai.request.model"] = event.model_id;
  if (!event.prompt_version.empty()) j["tenantai.prompt.version"] = event.prompt_version;
  j["tenantai.request.id"] = event.request_id;
  j["tenantai.status"] = event.status;
  if (!event.input_digest.empty()) j["tenantai.input.digest"] = event.input_digest;
  if (!event.output_digest.empty()) j["tenantai.output.digest"] = event.output_digest;
  if (!event.detail.empty()) j["tenantai.detail"] = event.detail;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tenantai::audit
