// Run-time dispatch: the widest kernel table the CPU supports is chosen once at start-up; the
// public functions of distance.h call through it.
#include <atomic>

#include "retrieval/kernel_table.h"
#include "tenantai/retrieval/distance.h"

namespace tenantai::retrieval {
namespace detail {
namespace {

const KernelTable& table_for(KernelIsa isa) noexcept {
  switch (isa) {
    case KernelIsa::Avx512: return avx512_kernels();
    case KernelIsa::Avx2: return avx2_kernels();
    case KernelIsa::Scalar: break;
  }
  return scalar_kernels();
}

struct Active {
  std::atomic<const KernelTable*> table{&table_for(best_kernel_isa())};
  std::atomic<KernelIsa> isa{best_kernel_isa()};
};

Active& active() noexcept {
  static Active instance;
  return instance;
}

}  // namespace

const KernelTable& active_kernels() noexcept { return *active().table.load(std::memory_order_relaxed); }

}  // namespace detail

bool kernel_isa_supported(KernelIsa isa) noexcept {
  switch (isa) {
    case KernelIsa::Scalar: return true;
    case KernelIsa::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case KernelIsa::Avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
  }
  return false;
}

KernelIsa best_kernel_isa() noexcept {
  if (kernel_isa_supported(KernelIsa::Avx512)) return KernelIsa::Avx512;
  if (kernel_isa_supported(KernelIsa::Avx2)) return KernelIsa::Avx2;
  return KernelIsa::Scalar;
}

KernelIsa kernel_isa() noexcept { return detail::active().isa.load(std::memory_order_relaxed); }

std::string_view to_string(KernelIsa isa) noexcept {
  switch (isa) {
    case KernelIsa::Scalar: return "scalar";
    case KernelIsa::Avx2: return "avx2";
    case KernelIsa::Avx512: return "avx512";
  }
  return "unknown";
}

bool force_kernel_isa(KernelIsa isa) noexcept {
  if (!kernel_isa_supported(isa)) return false;
  detail::active().table.store(&detail::table_for(isa), std::memory_order_relaxed);
  detail::active().isa.store(isa, std::memory_order_relaxed);
  return true;
}

float inner_product(const float* a, const float* b, std::size_t dim) noexcept {
  return detail::active_kernels().inner_product(a, b, dim);
}

float l2_squared(const float* a, const float* b, std::size_t dim) noexcept {
  return detail::active_kernels().l2_squared(a, b, dim);
}

void inner_products(const float* query, const float* rows, std::size_t n_rows, std::size_t dim,
                    float* out) noexcept {
  detail::active_kernels().inner_products(query, rows, n_rows, dim, out);
}

void l2_squared_many(const float* query, const float* rows, std::size_t n_rows, std::size_t dim,
                     float* out) noexcept {
  detail::active_kernels().l2_squared_many(query, rows, n_rows, dim, out);
}

}  // namespace tenantai::retrieval
