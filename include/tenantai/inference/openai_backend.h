// OpenAICompatibleBackend: chat completions and embeddings over HTTP/1.1 (Boost.Beast) against
// any OpenAI-compatible server: llama.cpp server, vLLM, Ollama, or a hosted API behind a
// plain-HTTP gateway.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tenantai/inference/backend.h"
#include "tenantai/inference/tokenizer.h"

namespace tenantai::inference {

// Connection and retry settings. Plain data.
struct OpenAICompatibleOptions {
  std::string base_url = "http://127.0.0.1:8080";  // http://host[:port][/prefix]; https is not supported
  std::string api_key;                              // sent as "Authorization: Bearer <key>" when non-empty
  std::string embedding_model = "text-embedding";   // model named in /v1/embeddings requests
  std::size_t embedding_dimension = 0;              // expected vector size; 0 = accept what the server sends
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{60000};  // one attempt: write request + read response
  int max_retries = 2;                               // extra attempts after the first (429, 5xx, I/O errors)
  std::chrono::milliseconds initial_backoff{100};    // doubled after each retry
  std::chrono::milliseconds max_backoff{5000};       // also caps a server's Retry-After
  std::size_t max_response_bytes = 8U << 20;         // larger bodies fail with Unavailable
  // The served model's tokenizer, for the Pipeline's estimates and for usage the server does not
  // report; must be thread-safe. null = approximate_tokenizer().
  std::shared_ptr<const Tokenizer> tokenizer;
};

// Thread-safe: every call opens its own connection (Connection: close) and holds no shared
// mutable state, so one instance serves all tenants concurrently. A request's adapter (LoRA id
// from ModelRouter) is sent as the "model" field, the convention of vLLM's LoRA serving; the
// base model goes there otherwise. Streaming: the response is read whole, then on_chunk (if
// set) receives it as one chunk; time_to_first_token is then the time to the full response.
// Usage is the server's "usage" (prompt_tokens, completion_tokens); a count it leaves out is
// the tokenizer's count of the messages or the answer.
//
// Failures (thrown tenantai::Error, after retries where retrying can help):
//   connect error / timeout / 5xx / malformed JSON / oversized body → Unavailable
//   429 that persists through every retry                         → RateLimited
//   400, 404, 413, 422                                              → InvalidArgument
//   401, 403 (the backend refused our key)                          → Unavailable
//   the request's deadline passes (while waiting or before a retry)  → DeadlineExceeded
// Retries use exponential backoff from initial_backoff, or the server's Retry-After (seconds)
// when it is longer, both capped at max_backoff. Malformed JSON and 4xx are not retried.
class OpenAICompatibleBackend final : public InferenceBackend, public EmbeddingBackend {
 public:
  // Throws InvalidArgument for an unparsable or non-http base_url or non-positive limits.
  explicit OpenAICompatibleBackend(OpenAICompatibleOptions options);

  CompletionResult complete(const CompletionRequest& request) override;
  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) override;
  // The configured embedding_dimension (0 when not configured).
  std::size_t dimension() const override { return options_.embedding_dimension; }
  // options.tokenizer, or approximate_tokenizer() when none was given.
  const Tokenizer& tokenizer() const noexcept override { return *tokenizer_; }

  // HTTP attempts made so far (including retries); for tests and metrics.
  std::uint64_t attempts() const noexcept;

 private:
  struct HttpReply {
    int status = 0;
    std::string body;
    std::string retry_after;
  };
  using TimePoint = std::chrono::steady_clock::time_point;
  std::string post_json(const std::string& path, const std::string& body, TimePoint deadline);
  HttpReply send_once(const std::string& target, const std::string& body, TimePoint deadline);

  OpenAICompatibleOptions options_;
  const Tokenizer* tokenizer_;  // options_.tokenizer's, or the process-wide approximate one
  std::string host_;
  std::string port_;
  std::string prefix_;
  mutable std::atomic<std::uint64_t> attempts_{0};
};

}  // namespace tenantai::inference
