// EchoModel: a deterministic InferenceBackend for tests and the demo.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>

#include "tenantai/inference/backend.h"
#include "tenantai/inference/tokenizer.h"

namespace tenantai::inference {

// Answers with a header naming the model and adapter, then every message's content in order
// ("<role>: <content>" per line), so an end-to-end test can see exactly which context passages
// (and so which documents) the model was given. Token counts are its tokenizer's, the
// ApproximateTokenizer (input = all message contents, output = the answer, cut to
// params.max_tokens like a real model), so the Pipeline's estimates are exact for it.
// Streams word by word when on_chunk is set.
// Stateless apart from an atomic call counter; thread-safe.
class EchoModel final : public InferenceBackend {
 public:
  // `model_id` is reported when the request names no model.
  explicit EchoModel(std::string model_id = "echo-1");

  // Throws InvalidArgument when the request has no messages.
  CompletionResult complete(const CompletionRequest& request) override;
  // The ApproximateTokenizer it counts its usage with.
  const Tokenizer& tokenizer() const noexcept override { return tokenizer_; }

  // Completions served so far.
  std::size_t calls() const noexcept { return calls_.load(std::memory_order_relaxed); }

 private:
  std::string model_id_;
  ApproximateTokenizer tokenizer_;
  std::atomic<std::size_t> calls_{0};
};

}  // namespace tenantai::inference
