// Internal: fused top-k. Scores arrive in chunks straight from the kernels; only those above the
// current k-th best are pushed into a small heap (higher is better; L2 is negated by callers).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace tenantai::retrieval::detail {

class TopK {
 public:
  explicit TopK(std::size_t k) : k_(k) { heap_.reserve(k); }

  float threshold() const noexcept { return threshold_; }
  std::size_t size() const noexcept { return heap_.size(); }

  void push(float score, std::uint32_t row) {
    if (heap_.size() < k_) {
      heap_.emplace_back(score, row);
      std::push_heap(heap_.begin(), heap_.end(), worse_on_top);
      if (heap_.size() == k_) threshold_ = heap_.front().first;
    } else {
      if (score <= threshold_) return;
      std::pop_heap(heap_.begin(), heap_.end(), worse_on_top);
      heap_.back() = {score, row};
      std::push_heap(heap_.begin(), heap_.end(), worse_on_top);
      threshold_ = heap_.front().first;
    }
  }

  // Scores of rows first .. first+n-1 (all candidates).
  void push_chunk(const float* scores, std::uint32_t first, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      if (scores[i] > threshold_ || heap_.size() < k_) push(scores[i], first + static_cast<std::uint32_t>(i));
    }
  }

  // Best first (ties: lower row first).
  std::vector<std::pair<float, std::uint32_t>> take_sorted() {
    std::sort(heap_.begin(), heap_.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    return std::move(heap_);
  }

 private:
  static bool worse_on_top(const std::pair<float, std::uint32_t>& a, const std::pair<float, std::uint32_t>& b) {
    return a.first > b.first;  // min-heap on score
  }
  std::size_t k_;
  float threshold_ = -std::numeric_limits<float>::infinity();
  std::vector<std::pair<float, std::uint32_t>> heap_;
};

}  // namespace tenantai::retrieval::detail
