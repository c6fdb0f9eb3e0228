// Internal: external id → row, as an open-addressing table of row numbers (4 bytes a slot,
// load ≤ 1/2) over the partition's id array, so an id is stored once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tenantai::retrieval::detail {

// Not thread-safe (the partition's lock guards it). `ids` must outlive the index and is the
// array the stored rows point into.
class IdIndex {
 public:
  static constexpr std::uint32_t kNone = UINT32_MAX;

  explicit IdIndex(const std::vector<std::string>& ids) : ids_(&ids) {}

  // Row of `id`, or kNone.
  std::uint32_t find(std::string_view id) const noexcept {
    if (slots_.empty()) return kNone;
    for (std::size_t s = home(id);; s = next(s)) {
      const std::uint32_t row = slots_[s];
      if (row == kNone) return kNone;
      if ((*ids_)[row] == id) return row;
    }
  }

  // Records that (*ids)[row] is at `row`. The id must not be present.
  void insert(std::uint32_t row) {
    if ((count_ + 1) * 2 > slots_.size()) rehash(slots_.empty() ? 8 : slots_.size() * 2);
    place(row);
    ++count_;
  }

  // Forgets `id` (which must be present at some row).
  void erase(std::string_view id) noexcept {
    std::size_t s = home(id);
    while ((*ids_)[slots_[s]] != id) s = next(s);
    // Backward-shift deletion keeps probe chains intact without tombstones.
    std::size_t hole = s;
    for (std::size_t j = next(s);; j = next(j)) {
      const std::uint32_t row = slots_[j];
      if (row == kNone) break;
      const std::size_t h = home((*ids_)[row]);
      const bool movable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j);
      if (movable) {
        slots_[hole] = row;
        hole = j;
      }
    }
    slots_[hole] = kNone;
    --count_;
  }

  // The id stored at (*ids)[from] now lives at row `to` (ids array already updated).
  void move(std::uint32_t from, std::uint32_t to) noexcept {
    std::size_t s = home((*ids_)[to]);
    while (slots_[s] != from) s = next(s);
    slots_[s] = to;
  }

  void clear() noexcept {
    slots_ = {};
    count_ = 0;
  }
  void reserve(std::size_t n) {
    if (n * 2 > slots_.size()) {
      std::size_t cap = 8;
      while (cap < n * 2) cap *= 2;
      rehash(cap);
    }
  }
  std::size_t bytes() const noexcept { return slots_.capacity() * sizeof(std::uint32_t); }

 private:
  std::size_t home(std::string_view id) const noexcept {
    return std::hash<std::string_view>{}(id) & (slots_.size() - 1);
  }
  std::size_t next(std::size_t s) const noexcept { return (s + 1) & (slots_.size() - 1); }
  void place(std::uint32_t row) noexcept {
    std::size_t s = home((*ids_)[row]);
    while (slots_[s] != kNone) s = next(s);
    slots_[s] = row;
  }
  void rehash(std::size_t capacity) {
    std::vector<std::uint32_t> old(capacity, kNone);
    old.swap(slots_);
    for (std::uint32_t row : old) {
      if (row != kNone) place(row);
    }
  }

  const std::vector<std::string>* ids_;
  std::vector<std::uint32_t> slots_;
  std::size_t count_ = 0;
};

}  // namespace tenantai::retrieval::detail
