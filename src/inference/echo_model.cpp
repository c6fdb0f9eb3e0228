#include "tenantai/inference/echo_model.h"

#include <cctype>
#include <chrono>

#include "tenantai/core/error.h"
#include "tenantai/inference/hashing_embedder.h"

namespace tenantai::inference {

EchoModel::EchoModel(std::string model_id) : model_id_(std::move(model_id)) {}

CompletionResult EchoModel::complete(const CompletionRequest& request) {
  if (request.messages.empty()) throw Error(ErrorCode::InvalidArgument, "EchoModel: request has no messages");
  const auto start = std::chrono::steady_clock::now();
  CompletionResult result;
  result.model = request.model.empty() ? model_id_ : request.model;
  result.adapter = request.adapter;
  std::string text = "[echo model=" + result.model + " adapter=" + (request.adapter.empty() ? "-" : request.adapter) + "]";
  for (const auto& m : request.messages) {
    result.input_tokens += count_tokens(m.content);
    text += '\n';
    text += m.role;
    text += ": ";
    text += m.content;
  }
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
  result.output_tokens = count_tokens(text);
  result.text = std::move(text);
  calls_.fetch_add(1, std::memory_order_relaxed);
  return result;
}

}  // namespace tenantai::inference
