// AVX-512 kernels (16 floats per step, masked tails, 4 rows per pass sharing the query loads).
// Compiled with a function-level target attribute; only reached when the CPU reports
// avx512f, avx512bw and avx512vl.
// g++ 12 warns inside its own _mm512_reduce_add_ps (_mm256_undefined_pd is "uninitialized" by
// design): a false positive in the system header, silenced for this file only.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "retrieval/kernel_table.h"

#define TENANTAI_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))

namespace tenantai::retrieval::detail {
namespace {

TENANTAI_AVX512 inline __mmask16 tail_mask(std::size_t remaining) noexcept {
  return static_cast<__mmask16>((1u << remaining) - 1u);  // remaining in 1..15
}

TENANTAI_AVX512 float inner_product_avx512(const float* a, const float* b, std::size_t dim) noexcept {
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= dim; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i + 16 <= dim; i += 16) acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  if (i < dim) {
    const __mmask16 m = tail_mask(dim - i);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

TENANTAI_AVX512 float l2_squared_avx512(const float* a, const float* b, std::size_t dim) noexcept {
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= dim; i += 32) {
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
    acc0 = _mm512_fmadd_ps(d0, d0, acc0);
    acc1 = _mm512_fmadd_ps(d1, d1, acc1);
  }
  for (; i + 16 <= dim; i += 16) {
    const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    acc0 = _mm512_fmadd_ps(d, d, acc0);
  }
  if (i < dim) {
    const __mmask16 m = tail_mask(dim - i);
    const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
    acc1 = _mm512_fmadd_ps(d, d, acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

TENANTAI_AVX512 void inner_products_avx512(const float* q, const float* rows, std::size_t n, std::size_t dim,
                                           float* out) noexcept {
  std::size_t r = 0;
  const std::size_t full = dim & ~std::size_t{15};
  const __mmask16 m = full < dim ? tail_mask(dim - full) : __mmask16{0};
  for (; r + 4 <= n; r += 4) {
    const float* x0 = rows + r * dim;
    const float* x1 = x0 + dim;
    const float* x2 = x1 + dim;
    const float* x3 = x2 + dim;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(),
           a3 = _mm512_setzero_ps();
    for (std::size_t i = 0; i < full; i += 16) {
      const __m512 qv = _mm512_loadu_ps(q + i);
      a0 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(x0 + i), a0);
      a1 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(x1 + i), a1);
      a2 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(x2 + i), a2);
      a3 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(x3 + i), a3);
    }
    if (full < dim) {
      const __m512 qv = _mm512_maskz_loadu_ps(m, q + full);
      a0 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, x0 + full), a0);
      a1 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, x1 + full), a1);
      a2 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, x2 + full), a2);
      a3 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, x3 + full), a3);
    }
    out[r] = _mm512_reduce_add_ps(a0);
    out[r + 1] = _mm512_reduce_add_ps(a1);
    out[r + 2] = _mm512_reduce_add_ps(a2);
    out[r + 3] = _mm512_reduce_add_ps(a3);
  }
  for (; r < n; ++r) out[r] = inner_product_avx512(q, rows + r * dim, dim);
}

TENANTAI_AVX512 void l2_squared_many_avx512(const float* q, const float* rows, std::size_t n, std::size_t dim,
                                            float* out) noexcept {
  for (std::size_t r = 0; r < n; ++r) out[r] = l2_squared_avx512(q, rows + r * dim, dim);
}

}  // namespace

const KernelTable& avx512_kernels() noexcept {
  static const KernelTable table{inner_product_avx512, l2_squared_avx512, inner_products_avx512,
                                 l2_squared_many_avx512};
  return table;
}

}  // namespace tenantai::retrieval::detail
