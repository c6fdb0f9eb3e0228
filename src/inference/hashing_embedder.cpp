#include "tenantai/inference/hashing_embedder.h"

#include <cctype>
#include <cmath>

#include "tenantai/core/error.h"

namespace tenantai::inference {

namespace {

std::uint64_t fnv1a(std::uint64_t seed, char kind, std::string_view text) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ seed;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ULL;
  };
  mix(static_cast<unsigned char>(kind));
  for (char c : text) mix(static_cast<unsigned char>(c));
  // Final avalanche (splitmix64) so low bits used for the bucket are well mixed.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> words;
  std::string current;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || u >= 0x80) {
      current.push_back(static_cast<char>(std::tolower(u)));
    } else if (!current.empty()) {
      words.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

}  // namespace

HashingEmbedder::HashingEmbedder(HashingEmbedderOptions options) : options_(options) {
  if (options_.dimension < 8) throw Error(ErrorCode::InvalidArgument, "HashingEmbedder: dimension must be >= 8");
  if (options_.char_ngram_min == 0 || options_.char_ngram_min > options_.char_ngram_max) {
    throw Error(ErrorCode::InvalidArgument, "HashingEmbedder: invalid character n-gram range");
  }
}

std::vector<float> HashingEmbedder::embed_one(std::string_view text) const {
  std::vector<float> v(options_.dimension, 0.0f);
  auto add = [&](char kind, std::string_view feature, float weight) {
    std::uint64_t h = fnv1a(options_.seed, kind, feature);
    std::size_t bucket = static_cast<std::size_t>(h % options_.dimension);
    float sign = ((h >> 63) & 1U) != 0 ? -1.0f : 1.0f;
    v[bucket] += sign * weight;
  };
  const auto words = words_of(text);
  for (std::size_t i = 0; i < words.size(); ++i) {
    add('w', words[i], options_.word_weight);
    if (options_.word_bigrams && i + 1 < words.size()) add('b', words[i] + ' ' + words[i + 1], options_.word_weight);
    const std::string marked = '<' + words[i] + '>';
    for (std::size_t n = options_.char_ngram_min; n <= options_.char_ngram_max; ++n) {
      if (marked.size() < n) break;
      for (std::size_t p = 0; p + n <= marked.size(); ++p) {
        add('c', std::string_view(marked).substr(p, n), options_.char_weight);
      }
    }
  }
  double norm = 0.0;
  for (float x : v) norm += static_cast<double>(x) * x;
  if (norm > 0.0) {
    const auto inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& x : v) x *= inv;
  }
  return v;
}

std::vector<std::vector<float>> HashingEmbedder::embed(const std::vector<std::string>& texts) {
  std::vector<std::vector<float>> out;
  out.reserve(texts.size());
  for (const auto& t : texts) out.push_back(embed_one(t));
  return out;
}

float cosine_similarity(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) throw Error(ErrorCode::InvalidArgument, "cosine_similarity: length mismatch");
  double dot = 0.0, na = 0.0, nb = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (na == 0.0 || nb == 0.0) return 0.0f;
  return static_cast<float>(dot / (std::sqrt(na) * std::sqrt(nb)));
}

}  // namespace tenantai::inference
