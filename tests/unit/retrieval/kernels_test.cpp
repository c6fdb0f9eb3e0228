// Every dispatch path this CPU supports against a naive double-precision reference.
#include <catch2/catch.hpp>
#include <tenantai/retrieval/distance.h>

#include <cmath>
#include <random>
#include <vector>

using namespace tenantai::retrieval;

namespace {

double naive_ip(const float* a, const float* b, std::size_t dim) {
  double s = 0;
  for (std::size_t i = 0; i < dim; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

double naive_l2(const float* a, const float* b, std::size_t dim) {
  double s = 0;
  for (std::size_t i = 0; i < dim; ++i) s += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  return s;
}

struct RestoreIsa {
  ~RestoreIsa() { force_kernel_isa(best_kernel_isa()); }
};

}  // namespace

TEST_CASE("every kernel ISA the CPU has matches the naive reference, tails and odd row counts included") {
  RestoreIsa restore;
  std::mt19937 rng(42);
  std::normal_distribution<float> dist;
  for (KernelIsa isa : {KernelIsa::Scalar, KernelIsa::Avx2, KernelIsa::Avx512}) {
    if (!kernel_isa_supported(isa)) {
      WARN("kernel ISA " << to_string(isa) << " not supported by this CPU: skipped");
      REQUIRE_FALSE(force_kernel_isa(isa));
      continue;
    }
    REQUIRE(force_kernel_isa(isa));
    REQUIRE(kernel_isa() == isa);
    for (std::size_t dim : {1u, 3u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 33u, 64u, 100u, 128u, 384u, 1000u}) {
      const std::size_t n = 13;  // 3 passes of 4 rows and a remainder
      std::vector<float> q(dim), rows(n * dim), out(n);
      for (auto& x : q) x = dist(rng);
      for (auto& x : rows) x = dist(rng);
      const double tol = 1e-4 * static_cast<double>(dim);
      inner_products(q.data(), rows.data(), n, dim, out.data());
      for (std::size_t r = 0; r < n; ++r) {
        INFO(to_string(isa) << " dim " << dim << " row " << r);
        const double ref = naive_ip(q.data(), rows.data() + r * dim, dim);
        CHECK(std::abs(out[r] - ref) <= tol);
        CHECK(std::abs(inner_product(q.data(), rows.data() + r * dim, dim) - ref) <= tol);
        CHECK(std::abs(l2_squared(q.data(), rows.data() + r * dim, dim) - naive_l2(q.data(), rows.data() + r * dim, dim)) <=
              tol * 4);
      }
      l2_squared_many(q.data(), rows.data(), n, dim, out.data());
      for (std::size_t r = 0; r < n; ++r) {
        CHECK(std::abs(out[r] - naive_l2(q.data(), rows.data() + r * dim, dim)) <= tol * 4);
      }
    }
  }
}

TEST_CASE("dispatch starts on the widest ISA and the scalar path is always available") {
  RestoreIsa restore;
  CHECK(kernel_isa_supported(KernelIsa::Scalar));
  CHECK(kernel_isa() == best_kernel_isa());
  CHECK(force_kernel_isa(KernelIsa::Scalar));
  CHECK(to_string(kernel_isa()) == "scalar");
}
