// Portable kernels. The retrieval layer adds AVX2/AVX-512 variants behind the same API.
#include "tenantai/retrieval/distance.h"

namespace tenantai::retrieval {

KernelIsa kernel_isa() noexcept { return KernelIsa::Scalar; }

std::string_view to_string(KernelIsa isa) noexcept {
  switch (isa) {
    case KernelIsa::Scalar: return "scalar";
    case KernelIsa::Avx2: return "avx2";
    case KernelIsa::Avx512: return "avx512";
  }
  return "unknown";
}

bool force_kernel_isa(KernelIsa isa) noexcept { return isa == KernelIsa::Scalar; }

float inner_product(const float* a, const float* b, std::size_t dim) noexcept {
  float s = 0.f;
  for (std::size_t i = 0; i < dim; ++i) s += a[i] * b[i];
  return s;
}

float l2_squared(const float* a, const float* b, std::size_t dim) noexcept {
  float s = 0.f;
  for (std::size_t i = 0; i < dim; ++i) {
    const float d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

void inner_products(const float* query, const float* rows, std::size_t n_rows, std::size_t dim,
                    float* out) noexcept {
  for (std::size_t r = 0; r < n_rows; ++r) out[r] = inner_product(query, rows + r * dim, dim);
}

void l2_squared_many(const float* query, const float* rows, std::size_t n_rows, std::size_t dim,
                     float* out) noexcept {
  for (std::size_t r = 0; r < n_rows; ++r) out[r] = l2_squared(query, rows + r * dim, dim);
}

}  // namespace tenantai::retrieval
