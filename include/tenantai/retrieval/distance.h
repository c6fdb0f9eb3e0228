// Distance kernels shared by the vector store and the semantic cache. Dispatch picks the widest
// implementation the CPU supports at run time (see kernel_isa()).
#pragma once

#include <cstddef>
#include <string_view>

namespace tenantai::retrieval {

// Which implementation the kernels use.
enum class KernelIsa { Scalar, Avx2, Avx512 };

// The ISA in use. Thread-safe.
KernelIsa kernel_isa() noexcept;
std::string_view to_string(KernelIsa isa) noexcept;

// True when this CPU can run `isa` (Scalar always). Thread-safe.
bool kernel_isa_supported(KernelIsa isa) noexcept;

// The widest ISA this CPU supports (what dispatch picks at start-up). Thread-safe.
KernelIsa best_kernel_isa() noexcept;

// Forces an ISA (tests run every path). Returns false, changing nothing, when the CPU lacks it.
// Not meant to be called while other threads run kernels.
bool force_kernel_isa(KernelIsa isa) noexcept;

// Sum of a[i] * b[i] for i < dim.
float inner_product(const float* a, const float* b, std::size_t dim) noexcept;

// Squared Euclidean distance between a and b.
float l2_squared(const float* a, const float* b, std::size_t dim) noexcept;

// out[r] = inner_product(query, rows + r * dim, dim) for r < n_rows (rows are contiguous).
void inner_products(const float* query, const float* rows, std::size_t n_rows, std::size_t dim,
                    float* out) noexcept;

// out[r] = l2_squared(query, rows + r * dim, dim) for r < n_rows.
void l2_squared_many(const float* query, const float* rows, std::size_t n_rows, std::size_t dim,
                     float* out) noexcept;

}  // namespace tenantai::retrieval
