// Internal: one table of distance kernels per ISA; distance_dispatch.cpp picks one at start-up.
#pragma once

#include <cstddef>

namespace tenantai::retrieval::detail {

struct KernelTable {
  float (*inner_product)(const float* a, const float* b, std::size_t dim) noexcept;
  float (*l2_squared)(const float* a, const float* b, std::size_t dim) noexcept;
  void (*inner_products)(const float* q, const float* rows, std::size_t n, std::size_t dim, float* out) noexcept;
  void (*l2_squared_many)(const float* q, const float* rows, std::size_t n, std::size_t dim, float* out) noexcept;
};

const KernelTable& scalar_kernels() noexcept;
const KernelTable& avx2_kernels() noexcept;    // only call when the CPU has AVX2 + FMA
const KernelTable& avx512_kernels() noexcept;  // only call when the CPU has AVX-512 F/BW/VL

// The table in use (never null).
const KernelTable& active_kernels() noexcept;

}  // namespace tenantai::retrieval::detail
