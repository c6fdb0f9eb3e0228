#include <catch2/catch.hpp>
#include <tenantai/core.h>
#include <tenantai/inference/model_router.h>

#include <atomic>
#include <thread>

#include "support/test_auth.h"

#include "support/error_code.h"

using namespace tenantai;
using tenantai::test_support::code_of;
using namespace tenantai::inference;
using tenantai::test_support::context_for;

namespace {

void add_catalogue(ModelRouter& router) {
  router.add_model({"small-8b", {"standard"}, 1});
  router.add_model({"large-70b", {"standard"}, 3});
  router.add_model({"hipaa-13b", {"standard", "hipaa"}, 2});
}

RouteRequest adapter_req(std::string adapter) {
  RouteRequest r;
  r.adapter = std::move(adapter);
  return r;
}
RouteRequest model_req(std::string model) {
  RouteRequest r;
  r.model = std::move(model);
  return r;
}
RouteRequest tier_req(int tier) {
  RouteRequest r;
  r.max_cost_tier = tier;
  return r;
}

}  // namespace

TEST_CASE("router: picks the dearest model allowed by compliance and cost tier") {
  ModelRouter router;
  add_catalogue(router);
  auto basic = context_for("basic-co");
  auto clinic = context_for("clinic-co");
  auto premium = context_for("premium-co");
  with_tenant(basic, [&](auto scope) { router.configure(scope, {{"standard"}, 1, "", ""}); });
  with_tenant(clinic, [&](auto scope) { router.configure(scope, {{"hipaa"}, 3, "", ""}); });
  with_tenant(premium, [&](auto scope) { router.configure(scope, {{"standard"}, 3, "", ""}); });
  auto model_for = [&](const TenantContext& ctx, RouteRequest req = {}) {
    return with_tenant(ctx, [&](auto scope) { return scope.release(router.route(scope, req)); });
  };
  CHECK(model_for(basic).model == "small-8b");
  CHECK(model_for(clinic).model == "hipaa-13b");  // large-70b is dearer but not HIPAA
  CHECK(model_for(premium).model == "large-70b");
  CHECK(model_for(premium).reason == "dearest-allowed");
  CHECK(model_for(premium, tier_req(1)).model == "small-8b");  // per-request cheap tier
  CHECK(model_for(premium, model_req("small-8b")).reason == "requested");
  // A request may not escape the policy.
  CHECK(code_of([&] { (void)model_for(basic, model_req("large-70b")); }) == ErrorCode::PermissionDenied);
  CHECK(code_of([&] { (void)model_for(clinic, model_req("large-70b")); }) == ErrorCode::PermissionDenied);
}

TEST_CASE("router: preferred model is used when it fits and refused at configure when it does not") {
  ModelRouter router;
  add_catalogue(router);
  auto ctx = context_for("pref-co");
  with_tenant(ctx, [&](auto scope) {
    router.configure(scope, {{"standard"}, 3, "hipaa-13b", ""});
    auto d = scope.release(router.route(scope));
    CHECK(d.model == "hipaa-13b");
    CHECK(d.reason == "preferred");
    CHECK(code_of([&] { router.configure(scope, {{"standard"}, 1, "large-70b", ""}); }) == ErrorCode::InvalidArgument);
    CHECK(code_of([&] { router.configure(scope, {{"standard"}, 3, "no-such", ""}); }) == ErrorCode::InvalidArgument);
  });
}

TEST_CASE("router: a tenant without a policy is NotFound, never a default") {
  ModelRouter router;
  add_catalogue(router);
  auto ctx = context_for("unconfigured-co");
  with_tenant(ctx, [&](auto scope) {
    CHECK(code_of([&] { (void)router.route(scope); }) == ErrorCode::NotFound);
  });
  auto none = context_for("nothing-fits");
  with_tenant(none, [&](auto scope) {
    router.configure(scope, {{"eu-resident"}, 9, "", ""});
    CHECK(code_of([&] { (void)router.route(scope); }) == ErrorCode::NotFound);
  });
}

TEST_CASE("router: an adapter belongs to one tenant - naming another tenant's adapter is PermissionDenied") {
  ModelRouter router;
  add_catalogue(router);
  auto acme = context_for("acme");
  auto globex = context_for("globex");
  with_tenant(acme, [&](auto scope) {
    router.configure(scope, {{"standard"}, 3, "", ""});
    router.register_adapter(scope, {"acme-support-lora", "small-8b"});
    auto d = scope.release(router.route(scope, adapter_req("acme-support-lora")));
    CHECK(d.model == "small-8b");
    CHECK(d.adapter == "acme-support-lora");
    CHECK(d.reason == "adapter");
  });
  with_tenant(globex, [&](auto scope) {
    router.configure(scope, {{"standard"}, 3, "", ""});
    Error foreign(ErrorCode::Internal, "");
    Error unknown(ErrorCode::Internal, "");
    try {
      (void)router.route(scope, adapter_req("acme-support-lora"));
    } catch (const Error& e) {
      foreign = e;
    }
    try {
      (void)router.route(scope, adapter_req("nobody-lora"));
    } catch (const Error& e) {
      unknown = e;
    }
    CHECK(foreign.code() == ErrorCode::PermissionDenied);
    CHECK(unknown.code() == ErrorCode::PermissionDenied);
    // Same shape of answer either way: the message does not reveal that acme owns it.
    CHECK(foreign.message().find("acme\"") == std::string::npos);
    // Cannot take the id, make it a default, or remove it.
    CHECK(code_of([&] { router.register_adapter(scope, {"acme-support-lora", "small-8b"}); }) == ErrorCode::AlreadyExists);
    CHECK(code_of([&] { router.configure(scope, {{"standard"}, 3, "", "acme-support-lora"}); }) ==
          ErrorCode::PermissionDenied);
    CHECK(code_of([&] { router.remove_adapter(scope, "acme-support-lora"); }) == ErrorCode::PermissionDenied);
    CHECK(scope.view(router.adapters(scope)).empty());
  });
  with_tenant(acme, [&](auto scope) {
    CHECK(scope.view(router.adapters(scope)) == std::vector<std::string>{"acme-support-lora"});
  });
}

TEST_CASE("router: default adapter, compliance of the adapter's base model, erase_tenant frees ids") {
  ModelRouter router;
  add_catalogue(router);
  auto clinic = context_for("clinic-b");
  with_tenant(clinic, [&](auto scope) {
    router.configure(scope, {{"hipaa"}, 3, "", ""});
    router.register_adapter(scope, {"clinic-notes", "hipaa-13b"});
    router.register_adapter(scope, {"clinic-cheap", "small-8b"});
    router.configure(scope, {{"hipaa"}, 3, "", "clinic-notes"});
    auto d = scope.release(router.route(scope));
    CHECK(d.adapter == "clinic-notes");
    CHECK(d.model == "hipaa-13b");
    // An adapter on a non-compliant base model cannot be used.
    CHECK(code_of([&] { (void)router.route(scope, adapter_req("clinic-cheap")); }) == ErrorCode::PermissionDenied);
    CHECK(code_of([&] { router.register_adapter(scope, {"x", "no-such-model"}); }) == ErrorCode::InvalidArgument);
    CHECK(router.erase_tenant(scope) == 2);
    CHECK(code_of([&] { (void)router.route(scope); }) == ErrorCode::NotFound);
  });
  auto other = context_for("other-b");
  with_tenant(other, [&](auto scope) {
    router.register_adapter(scope, {"clinic-notes", "small-8b"});  // the id is free again
    CHECK(scope.view(router.adapters(scope)).size() == 1);
  });
}

TEST_CASE("router: concurrent routing never hands one tenant's adapter to another", "[concurrency]") {
  ModelRouter router;
  add_catalogue(router);
  constexpr int kTenants = 4;
  std::vector<TenantContext> contexts;
  for (int t = 0; t < kTenants; ++t) {
    contexts.push_back(context_for("conc-" + std::to_string(t)));
    with_tenant(contexts.back(), [&](auto scope) {
      router.configure(scope, {{"standard"}, 3, "", ""});
      router.register_adapter(scope, {"lora-canary-" + std::to_string(t), "small-8b"});
    });
  }
  std::atomic<int> wrong{0}, refused_ok{0}, total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kTenants; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        with_tenant(contexts[t], [&](auto scope) {
          auto own = scope.release(router.route(scope, adapter_req("lora-canary-" + std::to_string(t))));
          if (own.adapter != "lora-canary-" + std::to_string(t)) wrong++;
          const int other = (t + 1 + i % (kTenants - 1)) % kTenants;
          try {
            (void)router.route(scope, adapter_req("lora-canary-" + std::to_string(other)));
            wrong++;
          } catch (const Error& e) {
            if (e.code() == ErrorCode::PermissionDenied) refused_ok++;
          }
          total++;
        });
      }
    });
  }
  // Churn registrations concurrently to exercise the write path.
  threads.emplace_back([&] {
    auto churn = context_for("conc-churn");
    with_tenant(churn, [&](auto scope) {
      router.configure(scope, {{"standard"}, 3, "", ""});
      for (int i = 0; i < 200; ++i) {
        router.register_adapter(scope, {"churn", "small-8b"});
        router.remove_adapter(scope, "churn");
      }
    });
  });
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
  CHECK(refused_ok == total);
  CHECK(total == kTenants * 300);
}
