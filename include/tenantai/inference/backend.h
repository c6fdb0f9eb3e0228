// Host-facing inference interfaces: InferenceBackend (chat completion) and EmbeddingBackend.
// Backends are shared infrastructure and carry no tenant state: the Pipeline picks the model
// and adapter for a tenant through ModelRouter (which needs the TenantScope) and passes the
// decision in the request; the backend only executes it.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/inference/tokenizer.h"

namespace tenantai::inference {

// One chat message ("system", "user", "assistant", "tool"). Plain data.
struct ChatMessage {
  std::string role;
  std::string content;
};

// Sum of tokenizer.count() over the messages' contents (roles are not counted). Never throws
// except std::bad_alloc.
std::size_t count_tokens(const Tokenizer& tokenizer, const std::vector<ChatMessage>& messages);

// Sampling parameters (a SearchParameters-style bag). Plain data.
struct CompletionParams {
  std::size_t max_tokens = 256;
  double temperature = 0.0;
  std::vector<std::string> stop;
};

// Called with each chunk of text as it is produced. Invoked on the calling thread of
// complete(); an exception thrown here aborts the completion and propagates.
using StreamCallback = std::function<void(std::string_view chunk)>;

// One completion request. `model` and `adapter` come from ModelRouter's decision; an empty
// adapter means the base model. Plain data.
struct CompletionRequest {
  std::string model;
  std::string adapter;
  std::vector<ChatMessage> messages;
  CompletionParams params;
  StreamCallback on_chunk;  // optional; empty = no streaming
  // The request's deadline (TenantContext::deadline()); backends stop waiting and retrying at it
  // and throw DeadlineExceeded. Default: none.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// What a backend produced. Plain data.
struct CompletionResult {
  std::string text;
  std::size_t input_tokens = 0;
  std::size_t output_tokens = 0;
  std::string model;    // the model id that actually answered (as reported by the backend)
  std::string adapter;  // the adapter that was applied (empty = none)
  std::chrono::microseconds time_to_first_token{0};
};

// A chat-completion model. Implementations must be thread-safe: the Pipeline calls complete()
// concurrently for many tenants on one shared instance. Failures throw tenantai::Error
// (Unavailable for a dependency failure or timeout, InvalidArgument for a bad request,
// DeadlineExceeded, ...); a backend never returns a partial result as success. The token
// counts a result reports are the usage that is charged.
class InferenceBackend {
 public:
  virtual ~InferenceBackend() = default;
  virtual CompletionResult complete(const CompletionRequest& request) = 0;
  // The tokenizer of the models this backend serves, for estimates before a call (admission,
  // budget reservation, memory token counts). Default: approximate_tokenizer(). The reference
  // stays valid as long as the backend; thread-safe like complete().
  virtual const Tokenizer& tokenizer() const noexcept { return approximate_tokenizer(); }
};

// Texts → vectors of dimension() floats, one per text, in order. Thread-safe like
// InferenceBackend; failures throw tenantai::Error.
class EmbeddingBackend {
 public:
  virtual ~EmbeddingBackend() = default;
  virtual std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) = 0;
  virtual std::size_t dimension() const = 0;
};

}  // namespace tenantai::inference
