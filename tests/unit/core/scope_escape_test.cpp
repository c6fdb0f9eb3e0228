// What the type system cannot see (finding 4 of the adversarial review): a Scoped value hidden
// in a std::any leaves its callback, and view() copies data out. The first is caught by the
// run-time owner check the moment the value is used for another tenant; the second is recorded
// like release(), so an egress observer sees every read that could carry data out.
#include <catch2/catch.hpp>
#include <tenantai/core.h>

#include <any>
#include <string>
#include <vector>

#include "support/error_code.h"
#include "support/test_auth.h"

using namespace tenantai;
using tenantai::test_support::code_of;
using tenantai::test_support::context_for;

namespace {

struct CountingObserver : EgressObserver {
  std::vector<std::string> released;
  std::vector<std::string> viewed;
  void on_release(const TenantContext& ctx, std::string_view label) override {
    released.push_back(ctx.tenant().str() + ":" + std::string(label));
  }
  void on_view(const TenantContext& ctx, std::string_view label) override {
    viewed.push_back(ctx.tenant().str() + ":" + std::string(label));
  }
};

// The same call site run for two tenants: one brand, so only the run-time check can tell.
template <typename Callback>
auto run_for(const TenantContext& ctx, Callback& callback) {
  return with_tenant(ctx, callback);
}

}  // namespace

TEST_CASE("view() is reported to the egress observer like release()", "[core][scope][egress]") {
  CountingObserver observer;
  std::string copied;
  with_tenant(context_for("acme"), observer, [&](auto scope) {
    auto passages = scope.bind(std::string("acme passage"));
    copied = scope.view(passages);  // a copy out of the boundary
  });
  CHECK(copied == "acme passage");
  CHECK(observer.viewed == std::vector<std::string>{"acme:view"});
  CHECK(observer.released.empty());
}

TEST_CASE("an observer that only counts releases still sees views (the default forwards them)", "[core][scope][egress]") {
  struct ReleaseOnly : EgressObserver {
    int calls = 0;
    void on_release(const TenantContext&, std::string_view) override { ++calls; }
  } observer;
  with_tenant(context_for("acme"), observer, [&](auto scope) {
    auto v = scope.bind(1);
    (void)scope.view(v);
    (void)scope.release(v);
  });
  CHECK(observer.calls == 2);
}

TEST_CASE("a Scoped value smuggled out in std::any is refused when used for another tenant", "[core][scope][egress]") {
  std::any smuggled;
  bool first_run = true;
  auto callback = [&](auto scope) {
    using Value = decltype(scope.bind(std::string()));
    if (first_run) {
      smuggled = scope.bind(std::string("ACME-CANARY-any"));  // compiles: std::any hides the type
      first_run = false;
      return std::string();
    }
    return std::string(scope.view(std::any_cast<Value&>(smuggled)));
  };
  CHECK(run_for(context_for("acme"), callback).empty());
  // The same call site, now for globex: same brand, so it compiles, and the owner check fires.
  CHECK(code_of([&] { run_for(context_for("globex"), callback); }) == ErrorCode::IsolationViolation);
  // For its own tenant the value is readable again.
  CHECK(run_for(context_for("acme"), callback) == "ACME-CANARY-any");
}

TEST_CASE("holds_scoped sees through shared_ptr, unique_ptr, variant, maps and arrays", "[core][scope][egress]") {
  with_tenant(context_for("acme"), [](auto scope) {
    using S = decltype(scope.bind(1));
    static_assert(holds_scoped_v<std::shared_ptr<S>>);
    static_assert(holds_scoped_v<std::unique_ptr<S>>);
    static_assert(holds_scoped_v<std::variant<int, S>>);
    static_assert(holds_scoped_v<std::map<int, S>>);
    static_assert(holds_scoped_v<std::unordered_map<std::string, std::vector<S>>>);
    static_assert(holds_scoped_v<std::array<S, 2>>);
    static_assert(!holds_scoped_v<std::shared_ptr<int>>);
    static_assert(!holds_scoped_v<std::map<int, std::string>>);
  });
}
