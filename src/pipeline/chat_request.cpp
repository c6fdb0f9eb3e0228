#include "pipeline/chat_request.h"

#include <fmt/format.h>

namespace tenantai::pipeline::detail {

void check_request_size(const std::string& what, std::size_t bytes, const TenantConfig& config) {
  if (bytes > config.quotas.max_request_bytes) {
    throw Error(ErrorCode::InvalidArgument, fmt::format("{} of {} bytes exceeds the tenant's limit of {} bytes", what,
                                                        bytes, config.quotas.max_request_bytes));
  }
}

void validate_chat(const ChatRequest& request, const TenantConfig& config, std::size_t max_passages) {
  if (request.messages.empty()) throw Error(ErrorCode::InvalidArgument, "chat request has no messages");
  if (request.messages.back().role != "user") {
    throw Error(ErrorCode::InvalidArgument, "the last chat message must have role \"user\"");
  }
  std::size_t bytes = 0;
  for (const auto& message : request.messages) {
    if (message.role != "user" && message.role != "assistant" && message.role != "system") {
      throw Error(ErrorCode::InvalidArgument,
                  fmt::format("chat message role must be user, assistant or system, not '{}'",
                              escape_for_message(message.role)));
    }
    bytes += message.content.size() + message.role.size();
  }
  check_request_size("chat request", bytes, config);
  if (request.max_tokens == 0 || request.max_tokens > kMaxOutputTokens) {
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("max_tokens must be between 1 and {}, not {}", kMaxOutputTokens, request.max_tokens));
  }
  if (request.k > max_passages) throw Error(ErrorCode::InvalidArgument, fmt::format("k must be at most {}", max_passages));
}

std::string answer_to_json(const ChatAnswer& answer) {
  const nlohmann::json json{{"text", answer.text},   {"citations", answer.citations},
                            {"model", answer.model}, {"adapter", answer.adapter},
                            {"prompt_version", answer.prompt_version}};
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // the model may echo invalid UTF-8
}

std::optional<ChatAnswer> answer_from_json(std::string_view text) {
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_object() || !json.contains("text")) return std::nullopt;
  ChatAnswer answer;
  answer.text = json.value("text", "");
  answer.citations = json.value("citations", std::vector<std::string>{});
  answer.model = json.value("model", "");
  answer.adapter = json.value("adapter", "");
  answer.prompt_version = json.value("prompt_version", "");
  return answer;
}

std::string audit_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tenantai::pipeline::detail
