// HashingEmbedder: a deterministic feature-hashing embedder (no model needed) for tests and
// the demo. Similar texts get a high cosine, unrelated texts a low one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/inference/backend.h"

namespace tenantai::inference {

// Tuning knobs. Plain data.
struct HashingEmbedderOptions {
  std::size_t dimension = 384;       // output size; must be >= 8
  std::size_t char_ngram_min = 3;    // character n-grams of lower-cased words (with boundary marks)
  std::size_t char_ngram_max = 5;
  bool word_bigrams = true;          // also hash adjacent word pairs
  float word_weight = 1.0f;          // weight of a word unigram/bigram feature
  float char_weight = 0.5f;          // weight of a character n-gram feature
  std::uint64_t seed = 0x74656e616e746169ULL;  // changes every hash; same seed = same vectors
};

// Lower-cases ASCII letters, splits on non-alphanumerics, hashes each feature (64-bit FNV-1a
// over seed + kind + text) to a bucket and a sign, sums weights, then L2-normalises. An empty
// or feature-less text yields the zero vector. Immutable after construction; thread-safe.
class HashingEmbedder final : public EmbeddingBackend {
 public:
  // Throws InvalidArgument on dimension < 8 or an empty/invalid n-gram range.
  explicit HashingEmbedder(HashingEmbedderOptions options = {});

  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) override;
  std::size_t dimension() const override { return options_.dimension; }

  // One text → one vector (the same as embed({text})[0]).
  std::vector<float> embed_one(std::string_view text) const;

 private:
  HashingEmbedderOptions options_;
};

// Cosine similarity of two equal-length vectors (0 when either is zero). Throws
// InvalidArgument on a length mismatch.
float cosine_similarity(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace tenantai::inference
