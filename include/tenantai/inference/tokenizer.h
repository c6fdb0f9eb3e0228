// Tokenizer: how many tokens a text is for the models a backend serves, known before the call.
// The Pipeline counts with the backend's tokenizer (InferenceBackend::tokenizer()) for admission
// (tokens per minute), the budget reservation and memory token counts; what a call is charged
// is the usage the backend reports afterwards (CompletionResult), so an estimate that is off
// moves a reservation or an admission decision, never a bill.
#pragma once

#include <cstddef>
#include <string_view>

namespace tenantai::inference {

// Implementations must be thread-safe (one instance is shared by every tenant's requests) and
// must accept any bytes (invalid UTF-8 included): a text that cannot be tokenized exactly is
// estimated, never refused. count() never throws except std::bad_alloc.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Tokens in `text` (0 for an empty text).
  virtual std::size_t count(std::string_view text) const = 0;
};

// Whitespace-separated words: exact for EchoModel, an estimate for a real model (BPE tokenizers
// make about 1.3 tokens of an English word). Stateless; thread-safe; never throws.
class ApproximateTokenizer final : public Tokenizer {
 public:
  std::size_t count(std::string_view text) const noexcept override;
};

// The process-wide ApproximateTokenizer: the default of InferenceBackend::tokenizer(). Lives for
// the whole program; never fails.
const Tokenizer& approximate_tokenizer() noexcept;

}  // namespace tenantai::inference
