#include <catch2/catch.hpp>
#include <tenantai/core.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/test_auth.h"

using namespace tenantai;
using tenantai::test_support::context_for;

namespace {

// Concept-level checks of the boundary (cheap complements to tests/compile_fail).
template <typename Scope, typename Value>
concept can_view = requires(const Scope& s, const Value& v) { s.view(v); };

struct RecordingObserver : EgressObserver {
  std::vector<std::string> seen;
  void on_release(const TenantContext& ctx, std::string_view label) override {
    seen.push_back(ctx.tenant().str() + ":" + std::string(label));
  }
};

}  // namespace

TEST_CASE("scoped values are readable inside their own scope and released explicitly", "[core][scope]") {
  auto ctx = context_for("acme", "alice");
  RecordingObserver observer;
  std::string out = with_tenant(ctx, observer, [](auto scope) {
    auto v = scope.bind(std::string("acme-secret"));
    CHECK(v.tenant() == TenantId("acme"));
    CHECK(scope.view(v) == "acme-secret");
    scope.view(v) += "!";  // mutable view of an lvalue
    return scope.release(v, "answer");
  });
  CHECK(out == "acme-secret!");
  // Both views are reported too (a view's reference can be copied out), then the release.
  CHECK(observer.seen == std::vector<std::string>{"acme:view", "acme:view", "acme:answer"});
}

TEST_CASE("Scoped has no public constructor and no conversion to T", "[core][scope]") {
  with_tenant(context_for("acme"), [](auto scope) {
    using S = decltype(scope.bind(1));
    static_assert(!std::is_constructible_v<S, TenantId, int>);
    static_assert(!std::is_convertible_v<S, int>);
    static_assert(!std::is_copy_constructible_v<std::remove_cvref_t<decltype(scope)>>);
    static_assert(!std::is_move_constructible_v<std::remove_cvref_t<decltype(scope)>>);
    static_assert(can_view<std::remove_cvref_t<decltype(scope)>, S>);
    return 0;
  });
}

TEST_CASE("two call sites get distinct brands", "[core][scope]") {
  auto a = context_for("acme");
  auto b = context_for("globex");
  with_tenant(a, [&](auto sa) {
    with_tenant(b, [&](auto sb) {
      using ScopeA = std::remove_cvref_t<decltype(sa)>;
      using ScopeB = std::remove_cvref_t<decltype(sb)>;
      static_assert(!std::is_same_v<typename ScopeA::brand, typename ScopeB::brand>);
      CHECK(sa.tenant() != sb.tenant());
      return 0;
    });
    return 0;
  });
}

TEST_CASE("the run-time owner check stops a value reused by the same call site for another tenant",
          "[core][scope]") {
  auto acme = context_for("acme");
  auto globex = context_for("globex");
  // The same lambda runs for two tenants, so both scopes share a brand: only the run-time check
  // can tell them apart. The callback smuggles acme's value into globex's run.
  std::optional<std::string> leaked;
  int run = 0;
  auto callback = [&](auto scope) {
    static std::optional<decltype(scope.bind(std::string()))> stash;  // same type in both runs
    if (run++ == 0) {
      stash = scope.bind(std::string("acme canary 8f3a"));
      return 0;
    }
    try {
      leaked = scope.view(*stash);
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::IsolationViolation);
      CHECK(std::string(e.what()).find("\"acme\"") != std::string::npos);
      CHECK_THROWS_AS(scope.release(*stash), Error);
      CHECK_THROWS_AS(scope.check_owner(*stash), Error);
      return 1;
    }
    return 2;
  };
  CHECK(with_tenant(acme, callback) == 0);
  CHECK(with_tenant(globex, callback) == 1);
  CHECK_FALSE(leaked.has_value());
}

TEST_CASE("deadline checks fail closed", "[core][scope]") {
  ApiKeyAuthenticator auth;
  auto key = auth.issue({TenantId("acme"), "alice", {}, {}});
  auto ctx = auth.authenticate(key.secret, RequestOptions{"", std::chrono::milliseconds(0)}).value();
  with_tenant(ctx, [](auto scope) {
    try {
      scope.check_deadline();
      FAIL("expired deadline accepted");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::DeadlineExceeded);
    }
    return 0;
  });
}

TEST_CASE("an egress observer that throws keeps the value inside", "[core][scope]") {
  struct Refuse : EgressObserver {
    void on_release(const TenantContext&, std::string_view) override {
      throw Error(ErrorCode::PermissionDenied, "egress blocked");
    }
  } refuse;
  auto ctx = context_for("acme");
  CHECK_THROWS_AS(with_tenant(ctx, refuse, [](auto scope) { return scope.release(scope.bind(1)); }), Error);
}
