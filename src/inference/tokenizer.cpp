#include "tenantai/inference/tokenizer.h"

#include <cctype>

#include "tenantai/inference/backend.h"

namespace tenantai::inference {

std::size_t ApproximateTokenizer::count(std::string_view text) const noexcept {
  std::size_t n = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

const Tokenizer& approximate_tokenizer() noexcept {
  static const ApproximateTokenizer tokenizer;
  return tokenizer;
}

std::size_t count_tokens(const Tokenizer& tokenizer, const std::vector<ChatMessage>& messages) {
  std::size_t n = 0;
  for (const auto& message : messages) n += tokenizer.count(message.content);
  return n;
}

}  // namespace tenantai::inference
