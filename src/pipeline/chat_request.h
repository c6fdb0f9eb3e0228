// Internal: the checks and encodings of a Pipeline request that need no tenant scope — the
// tenant's request size limit, chat request validation, the cached-answer JSON and the audit
// detail JSON.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tenantai/pipeline/pipeline.h"
#include "tenantai/pipeline/tenant_config.h"

namespace tenantai::pipeline::detail {

// Largest max_tokens a chat request may ask for.
inline constexpr std::size_t kMaxOutputTokens = 4096;

// InvalidArgument "<what> of N bytes exceeds the tenant's limit of M bytes" when `bytes` is over
// the tenant's max_request_bytes.
void check_request_size(const std::string& what, std::size_t bytes, const TenantConfig& config);

// InvalidArgument naming the first bad field: no messages, a last message not from "user", an
// unknown role, the size limit, max_tokens outside 1..kMaxOutputTokens, k above `max_passages`.
void validate_chat(const ChatRequest& request, const TenantConfig& config, std::size_t max_passages);

// A cached answer: the fields that do not depend on the request (never its id, cache kind,
// tokens or cost). answer_from_json returns nullopt for a value that is not one.
std::string answer_to_json(const ChatAnswer& answer);
std::optional<ChatAnswer> answer_from_json(std::string_view text);

// Ids and names may contain any character, so an audit field holding several of them is JSON
// (one unambiguous encoding, invalid UTF-8 replaced), never a separator-joined string.
std::string audit_json(const nlohmann::json& value);

}  // namespace tenantai::pipeline::detail
