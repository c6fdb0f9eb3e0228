// AVX2 + FMA kernels (8 floats per step, 4 rows per pass sharing the query loads). Compiled
// with a function-level target attribute; only reached when the CPU reports avx2 and fma.
#include <immintrin.h>

#include "retrieval/kernel_table.h"

#define TENANTAI_AVX2 __attribute__((target("avx2,fma")))

namespace tenantai::retrieval::detail {
namespace {

TENANTAI_AVX2 inline __m256i tail_mask(std::size_t remaining) noexcept {
  // Lanes [0, remaining) set, for remaining in 1..7.
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(remaining)), lanes);
}

TENANTAI_AVX2 inline float hsum(__m256 v) noexcept {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  __m128 shuf = _mm_movehdup_ps(lo);
  __m128 sums = _mm_add_ps(lo, shuf);
  shuf = _mm_movehl_ps(shuf, sums);
  sums = _mm_add_ss(sums, shuf);
  return _mm_cvtss_f32(sums);
}

TENANTAI_AVX2 float inner_product_avx2(const float* a, const float* b, std::size_t dim) noexcept {
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= dim; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  if (i < dim) {
    const __m256i m = tail_mask(dim - i);
    acc1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), acc1);
  }
  return hsum(_mm256_add_ps(acc0, acc1));
}

TENANTAI_AVX2 float l2_squared_avx2(const float* a, const float* b, std::size_t dim) noexcept {
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    acc0 = _mm256_fmadd_ps(d0, d0, acc0);
    acc1 = _mm256_fmadd_ps(d1, d1, acc1);
  }
  for (; i + 8 <= dim; i += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    acc0 = _mm256_fmadd_ps(d, d, acc0);
  }
  if (i < dim) {
    const __m256i m = tail_mask(dim - i);
    const __m256 d = _mm256_sub_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m));
    acc1 = _mm256_fmadd_ps(d, d, acc1);
  }
  return hsum(_mm256_add_ps(acc0, acc1));
}

// Four rows per pass: the query chunk is loaded once for four rows.
TENANTAI_AVX2 void inner_products_avx2(const float* q, const float* rows, std::size_t n, std::size_t dim,
                                       float* out) noexcept {
  std::size_t r = 0;
  const std::size_t full = dim & ~std::size_t{7};
  const __m256i m = tail_mask(dim - full == 0 ? 8 : dim - full);
  for (; r + 4 <= n; r += 4) {
    const float* x0 = rows + r * dim;
    const float* x1 = x0 + dim;
    const float* x2 = x1 + dim;
    const float* x3 = x2 + dim;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
           a3 = _mm256_setzero_ps();
    for (std::size_t i = 0; i < full; i += 8) {
      const __m256 qv = _mm256_loadu_ps(q + i);
      a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x0 + i), a0);
      a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x1 + i), a1);
      a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x2 + i), a2);
      a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x3 + i), a3);
    }
    if (full < dim) {
      const __m256 qv = _mm256_maskload_ps(q + full, m);
      a0 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(x0 + full, m), a0);
      a1 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(x1 + full, m), a1);
      a2 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(x2 + full, m), a2);
      a3 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(x3 + full, m), a3);
    }
    out[r] = hsum(a0);
    out[r + 1] = hsum(a1);
    out[r + 2] = hsum(a2);
    out[r + 3] = hsum(a3);
  }
  for (; r < n; ++r) out[r] = inner_product_avx2(q, rows + r * dim, dim);
}

TENANTAI_AVX2 void l2_squared_many_avx2(const float* q, const float* rows, std::size_t n, std::size_t dim,
                                        float* out) noexcept {
  for (std::size_t r = 0; r < n; ++r) out[r] = l2_squared_avx2(q, rows + r * dim, dim);
}

}  // namespace

const KernelTable& avx2_kernels() noexcept {
  static const KernelTable table{inner_product_avx2, l2_squared_avx2, inner_products_avx2, l2_squared_many_avx2};
  return table;
}

}  // namespace tenantai::retrieval::detail
