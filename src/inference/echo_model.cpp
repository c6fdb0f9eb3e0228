#include "tenantai/inference/echo_model.h"

#include <cctype>
#include <chrono>

#include "tenantai/core/error.h"

namespace tenantai::inference {

namespace {
// Like a real model, never emits more than max_tokens (whitespace-separated, as the
// ApproximateTokenizer counts them) tokens; 0 = no limit.
std::string truncate_to_tokens(std::string text, std::size_t max_tokens) {
  if (max_tokens == 0) return text;
  std::size_t tokens = 0;
  bool in_word = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool space = std::isspace(static_cast<unsigned char>(text[i])) != 0;
    if (!space && !in_word && ++tokens > max_tokens) {
      text.resize(i);
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
      break;
    }
    in_word = !space;
  }
  return text;
}
}  // namespace

EchoModel::EchoModel(std::string model_id) : model_id_(std::move(model_id)) {}

CompletionResult EchoModel::complete(const CompletionRequest& request) {
  if (request.messages.empty()) throw Error(ErrorCode::InvalidArgument, "EchoModel: request has no messages");
  const auto start = std::chrono::steady_clock::now();
  CompletionResult result;
  result.model = request.model.empty() ? model_id_ : request.model;
  result.adapter = request.adapter;
  std::string text = "[echo model=" + result.model + " adapter=" + (request.adapter.empty() ? "-" : request.adapter) + "]";
  for (const auto& m : request.messages) {
    result.input_tokens += tokenizer_.count(m.content);
    text += '\n';
    text += m.role;
    text += ": ";
    text += m.content;
  }
  text = truncate_to_tokens(std::move(text), request.params.max_tokens);
  bool first = true;
  if (request.on_chunk) {
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t next = text.find(' ', pos + 1);
      if (next == std::string::npos) next = text.size();
      if (first) {
        result.time_to_first_token =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
        first = false;
      }
      request.on_chunk(std::string_view(text).substr(pos, next - pos));
      pos = next;
    }
  } else {
    result.time_to_first_token =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  }
  result.output_tokens = tokenizer_.count(text);
  result.text = std::move(text);
  calls_.fetch_add(1, std::memory_order_relaxed);
  return result;
}

}  // namespace tenantai::inference
