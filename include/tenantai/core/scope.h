// The compile-time tenant boundary: Scoped<T, Tag> values, branded TenantScope<Tag>, with_tenant.
//
//   auto answer = tenantai::with_tenant(ctx, [&](auto scope) {
//     auto hits = store.search(scope, query, 8);      // Scoped<Hits, Brand>
//     return scope.release(hits);                     // the one explicit egress
//   });
//
// Each call site of with_tenant gets its own Brand type, so a value produced in one scope does
// not compile where another scope's value is expected. Where types cannot tell two runs apart
// (the same callback run for two tenants), every Scoped value also carries its TenantId and
// every check below compares it at run time, throwing IsolationViolation (fail closed).
#pragma once

#include <array>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "tenantai/core/error.h"
#include "tenantai/core/tenant_context.h"

namespace tenantai {

template <typename Tag>
class TenantScope;

namespace detail {
template <typename>
inline constexpr bool always_false = false;
struct ScopeAccess;
}  // namespace detail

// Receives every release() of a scoped value (the audited egress) and every view(), since a
// view's reference can be copied out of the boundary too. Implementations must be thread-safe;
// an exception thrown here propagates out of release()/view() and the value stays inside.
class EgressObserver {
 public:
  virtual ~EgressObserver() = default;
  virtual void on_release(const TenantContext& context, std::string_view label) = 0;
  // Default: reported like a release, so an observer written for releases sees views too.
  virtual void on_view(const TenantContext& context, std::string_view label) { on_release(context, label); }
};

// A value that belongs to one tenant. No public constructor (only a TenantScope<Tag> makes
// one) and no conversion to T: read it with scope.view(v), take it out with scope.release(v).
// Copyable and movable like T; thread-safety is T's.
template <typename T, typename Tag>
class Scoped {
 public:
  using value_type = T;
  using tag_type = Tag;

  // The tenant this value belongs to.
  const TenantId& tenant() const noexcept { return owner_; }

 private:
  friend class TenantScope<Tag>;
  Scoped(TenantId owner, T value) : owner_(std::move(owner)), value_(std::move(value)) {}

  TenantId owner_;
  T value_;
};

template <typename T>
struct is_scoped : std::false_type {};
template <typename T, typename Tag>
struct is_scoped<Scoped<T, Tag>> : std::true_type {};

// True when T is, or holds through standard containers, wrappers and smart pointers, a Scoped
// value. What it cannot see: std::any, std::function captures and user-defined structs; a
// Scoped value smuggled out that way still carries its tenant, and the owner check of every
// view/release/store refuses it for any other tenant (tests/unit/core/scope_escape_test.cpp).
template <typename T>
struct holds_scoped : is_scoped<T> {};
template <typename... Ts>
struct holds_any_scoped : std::bool_constant<(holds_scoped<std::remove_cv_t<Ts>>::value || ...)> {};
template <typename T>
struct holds_scoped<std::optional<T>> : holds_scoped<T> {};
template <typename T, typename A>
struct holds_scoped<std::vector<T, A>> : holds_scoped<T> {};
template <typename T, typename A>
struct holds_scoped<std::deque<T, A>> : holds_scoped<T> {};
template <typename T, typename A>
struct holds_scoped<std::list<T, A>> : holds_scoped<T> {};
template <typename T, std::size_t N>
struct holds_scoped<std::array<T, N>> : holds_scoped<T> {};
template <typename A, typename B>
struct holds_scoped<std::pair<A, B>> : holds_any_scoped<A, B> {};
template <typename... Ts>
struct holds_scoped<std::tuple<Ts...>> : holds_any_scoped<Ts...> {};
template <typename... Ts>
struct holds_scoped<std::variant<Ts...>> : holds_any_scoped<Ts...> {};
template <typename K, typename V, typename C, typename A>
struct holds_scoped<std::map<K, V, C, A>> : holds_any_scoped<K, V> {};
template <typename K, typename V, typename C, typename A>
struct holds_scoped<std::multimap<K, V, C, A>> : holds_any_scoped<K, V> {};
template <typename K, typename V, typename H, typename E, typename A>
struct holds_scoped<std::unordered_map<K, V, H, E, A>> : holds_any_scoped<K, V> {};
template <typename K, typename C, typename A>
struct holds_scoped<std::set<K, C, A>> : holds_scoped<K> {};
template <typename T>
struct holds_scoped<std::shared_ptr<T>> : holds_scoped<std::remove_cv_t<T>> {};
template <typename T>
struct holds_scoped<std::weak_ptr<T>> : holds_scoped<std::remove_cv_t<T>> {};
template <typename T, typename D>
struct holds_scoped<std::unique_ptr<T, D>> : holds_scoped<std::remove_cv_t<T>> {};
template <typename T>
struct holds_scoped<std::reference_wrapper<T>> : holds_scoped<std::remove_cv_t<T>> {};
template <typename T>
inline constexpr bool holds_scoped_v = holds_scoped<std::remove_cvref_t<T>>::value;

// The capability to act for one tenant, valid only inside the callback that received it.
// Not copyable or movable, so it cannot be stored beyond the callback (take it as `auto scope`
// or `auto&& scope`, pass it on by reference). Thread-safe for concurrent const use.
template <typename Tag>
class TenantScope {
 public:
  using brand = Tag;

  TenantScope(const TenantScope&) = delete;
  TenantScope& operator=(const TenantScope&) = delete;
  TenantScope(TenantScope&&) = delete;
  TenantScope& operator=(TenantScope&&) = delete;
  ~TenantScope() = default;

  const TenantContext& context() const noexcept { return *context_; }
  const TenantId& tenant() const noexcept { return context_->tenant(); }

  // Marks `value` as belonging to this scope's tenant.
  template <typename T>
  Scoped<std::decay_t<T>, Tag> bind(T&& value) const {
    return Scoped<std::decay_t<T>, Tag>(context_->tenant(), std::forward<T>(value));
  }

  // Read access. Compile error if `v` comes from another scope; IsolationViolation if it was
  // produced for another tenant by the same call site. Reported to the scope's EgressObserver
  // (on_view) like release(): a reference can be copied out of the boundary.
  template <typename T, typename OtherTag>
  const T& view(const Scoped<T, OtherTag>& v, std::string_view label = "view") const {
    static_assert(std::is_same_v<Tag, OtherTag>,
                  "tenantai: this Scoped value belongs to a different tenant scope");
    check_owner(v);
    if (observer_ != nullptr) observer_->on_view(*context_, label);
    return v.value_;
  }
  template <typename T, typename OtherTag>
  T& view(Scoped<T, OtherTag>& v, std::string_view label = "view") const {
    static_assert(std::is_same_v<Tag, OtherTag>,
                  "tenantai: this Scoped value belongs to a different tenant scope");
    check_owner(v);
    if (observer_ != nullptr) observer_->on_view(*context_, label);
    return v.value_;
  }

  // The one explicit egress: hands the plain value out of the tenant boundary and reports it
  // to the scope's EgressObserver (if any). Same checks as view().
  template <typename T, typename OtherTag>
  T release(Scoped<T, OtherTag> v, std::string_view label = "value") const {
    static_assert(std::is_same_v<Tag, OtherTag>,
                  "tenantai: this Scoped value belongs to a different tenant scope");
    check_owner(v);
    if (observer_ != nullptr) observer_->on_release(*context_, label);
    return std::move(v.value_);
  }

  // Run-time owner check for stores that receive a scoped value: throws IsolationViolation
  // when `v` belongs to another tenant.
  template <typename T, typename OtherTag>
  void check_owner(const Scoped<T, OtherTag>& v) const {
    static_assert(std::is_same_v<Tag, OtherTag>,
                  "tenantai: this Scoped value belongs to a different tenant scope");
    if (v.tenant() != context_->tenant()) {
      throw Error(ErrorCode::IsolationViolation,
                  "a value of tenant \"" + v.tenant().str() + "\" reached an operation of tenant \"" +
                      context_->tenant().str() + "\"");
    }
  }

  // Throws DeadlineExceeded when the request's deadline has passed.
  void check_deadline() const {
    if (context_->expired()) {
      throw Error(ErrorCode::DeadlineExceeded, "request " + context_->request_id() + " of tenant \"" +
                                                   context_->tenant().str() + "\" passed its deadline");
    }
  }

 private:
  friend struct detail::ScopeAccess;
  TenantScope(const TenantContext& context, EgressObserver* observer) noexcept
      : context_(&context), observer_(observer) {}

  const TenantContext* context_;
  EgressObserver* observer_;
};

namespace detail {
struct ScopeAccess {
  template <typename Tag>
  static TenantScope<Tag> make(const TenantContext& context, EgressObserver* observer) noexcept {
    return TenantScope<Tag>(context, observer);
  }
};

// Every scope is made here, so a dead or foreign system context (TenantContext::check_usable)
// never becomes a scope.
template <typename Brand, typename F>
decltype(auto) invoke_in_scope(const TenantContext& context, EgressObserver* observer, F&& f) {
  context.check_usable();
  using R = decltype(std::forward<F>(f)(ScopeAccess::make<Brand>(context, observer)));
  static_assert(!holds_scoped_v<R>,
                "tenantai: a Scoped value cannot leave its with_tenant callback; use scope.release()");
  return std::forward<F>(f)(ScopeAccess::make<Brand>(context, observer));
}
}  // namespace detail

// Runs `f(TenantScope<Brand>)` for the context's tenant, where Brand is a type unique to this
// instantiation (every lambda has its own type, so every call site its own brand). Returns what
// f returns, which may not be a Scoped value. Exceptions from f propagate.
template <typename F>
decltype(auto) with_tenant(const TenantContext& context, F&& f) {
  struct Brand {};
  return detail::invoke_in_scope<Brand>(context, nullptr, std::forward<F>(f));
}

// As above; every release() in the scope is reported to `observer` (which must outlive the call).
template <typename F>
decltype(auto) with_tenant(const TenantContext& context, EgressObserver& observer, F&& f) {
  struct Brand {};
  return detail::invoke_in_scope<Brand>(context, &observer, std::forward<F>(f));
}

}  // namespace tenantai
