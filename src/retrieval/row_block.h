// Internal: a tenant's contiguous, 64-byte aligned float block with size-classed capacity.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace tenantai::retrieval::detail {

// Smallest size class ≥ rows. Classes keep 5 significant bits (16 classes per doubling), so a
// block wastes at most 1/16 of its rows; below 32 rows the class is the row count itself.
inline std::size_t size_class(std::size_t rows) noexcept {
  if (rows < 32) return rows;
  std::size_t shift = 0;
  while ((rows >> shift) >= 32) ++shift;  // rows >> shift in [16, 32)
  std::size_t mantissa = rows >> shift;
  if ((mantissa << shift) < rows) ++mantissa;
  return mantissa << shift;
}

// Owns rows * dim floats. Move-only. Not thread-safe (the partition's lock guards it).
class RowBlock {
 public:
  RowBlock() = default;
  RowBlock(std::size_t capacity_rows, std::size_t dim) : capacity_(capacity_rows), dim_(dim) {
    if (capacity_ == 0) return;
    std::size_t bytes = capacity_ * dim_ * sizeof(float);
    bytes = (bytes + 63) & ~std::size_t{63};
    data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (data_ == nullptr) throw std::bad_alloc();
  }
  ~RowBlock() { std::free(data_); }
  RowBlock(RowBlock&& other) noexcept { swap(other); }
  RowBlock& operator=(RowBlock&& other) noexcept {
    RowBlock(std::move(other)).swap(*this);
    return *this;
  }
  RowBlock(const RowBlock&) = delete;
  RowBlock& operator=(const RowBlock&) = delete;

  void swap(RowBlock& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(capacity_, other.capacity_);
    std::swap(dim_, other.dim_);
  }

  float* row(std::size_t r) noexcept { return data_ + r * dim_; }
  const float* row(std::size_t r) const noexcept { return data_ + r * dim_; }
  const float* data() const noexcept { return data_; }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t bytes() const noexcept { return capacity_ * dim_ * sizeof(float); }

  // Grows (or shrinks) to the size class of `rows`, keeping the first `used` rows.
  void resize_for(std::size_t rows, std::size_t used) {
    const std::size_t want = size_class(rows);
    if (want == capacity_) return;
    RowBlock next(want, dim_);
    if (used > 0) std::memcpy(next.data_, data_, used * dim_ * sizeof(float));
    swap(next);
  }

 private:
  float* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t dim_ = 0;
};

}  // namespace tenantai::retrieval::detail
