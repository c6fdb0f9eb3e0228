// Portable kernels: the fallback on CPUs without AVX2 and the reference the SIMD paths are
// tested against.
#include "retrieval/kernel_table.h"

namespace tenantai::retrieval::detail {
namespace {

float inner_product_scalar(const float* a, const float* b, std::size_t dim) noexcept {
  float s = 0.f;
  for (std::size_t i = 0; i < dim; ++i) s += a[i] * b[i];
  return s;
}

float l2_squared_scalar(const float* a, const float* b, std::size_t dim) noexcept {
  float s = 0.f;
  for (std::size_t i = 0; i < dim; ++i) {
    const float d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

void inner_products_scalar(const float* q, const float* rows, std::size_t n, std::size_t dim,
                           float* out) noexcept {
  for (std::size_t r = 0; r < n; ++r) out[r] = inner_product_scalar(q, rows + r * dim, dim);
}

void l2_squared_many_scalar(const float* q, const float* rows, std::size_t n, std::size_t dim,
                            float* out) noexcept {
  for (std::size_t r = 0; r < n; ++r) out[r] = l2_squared_scalar(q, rows + r * dim, dim);
}

}  // namespace

const KernelTable& scalar_kernels() noexcept {
  static const KernelTable table{inner_product_scalar, l2_squared_scalar, inner_products_scalar,
                                 l2_squared_many_scalar};
  return table;
}

}  // namespace tenantai::retrieval::detail
