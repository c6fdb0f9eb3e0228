#include <catch2/catch.hpp>
#include <tenantai/core.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace tenantai;
using namespace std::chrono_literals;

namespace {
Principal principal(const std::string& tenant, const std::string& actor = "alice") {
  return Principal{TenantId(tenant), actor, {"staff", "eng", "staff"}, {"tool:search"}};
}
}  // namespace

TEST_CASE("an issued key authenticates to exactly its principal", "[core][auth]") {
  ApiKeyAuthenticator auth;
  auto key = auth.issue(principal("acme"));
  CHECK(ApiKeyAuthenticator::is_well_formed(key.secret));
  auto ctx = auth.authenticate(key.secret, RequestOptions{"req-123", 5s});
  REQUIRE(ctx.ok());
  CHECK(ctx->tenant() == TenantId("acme"));
  CHECK(ctx->actor() == "alice");
  CHECK(ctx->groups() == std::vector<std::string>{"eng", "staff"});  // sorted, unique
  CHECK(ctx->in_group("staff"));
  CHECK_FALSE(ctx->in_group("admin"));
  CHECK(ctx->has_capability("tool:search"));
  CHECK(ctx->request_id() == "req-123");
  CHECK_FALSE(ctx->expired());
  CHECK_FALSE(ctx->is_system());
}

TEST_CASE("unknown, malformed and near-miss keys are Unauthenticated, never a default tenant",
          "[core][auth]") {
  ApiKeyAuthenticator auth;
  auto key = auth.issue(principal("acme"));
  std::string flipped = key.secret;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  for (const std::string& bad : {std::string(), std::string("tai_"), std::string("Bearer x"), flipped,
                                 key.secret + "x", key.secret.substr(1), std::string(47, '\0'),
                                 std::string("tai_") + std::string(43, '!')}) {
    auto r = auth.authenticate(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::Unauthenticated);
    CHECK(r.error().message() == "invalid, revoked or expired API key");
  }
}

TEST_CASE("keys from another authenticator (other hashing secret) are refused", "[core][auth]") {
  ApiKeyAuthenticator a, b;
  auto key = a.issue(principal("acme"));
  CHECK(a.authenticate(key.secret).ok());
  CHECK(b.authenticate(key.secret).error().code() == ErrorCode::Unauthenticated);
}

TEST_CASE("a fixed hashing secret makes registered keys portable across instances", "[core][auth]") {
  const std::string secret(32, 's');
  ApiKeyAuthenticator a(secret, {}), b(secret, {});
  auto key = a.issue(principal("acme"));
  b.add(key.secret, principal("acme"));
  CHECK(b.authenticate(key.secret)->tenant() == TenantId("acme"));
  CHECK_THROWS_AS(ApiKeyAuthenticator(std::string(31, 's'), {}), Error);
}

TEST_CASE("add() validates shape and refuses duplicates", "[core][auth]") {
  ApiKeyAuthenticator auth;
  try {
    auth.add("not-a-key", principal("acme"));
    FAIL("malformed key accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::InvalidArgument);
  }
  auto key = auth.issue(principal("acme"));
  try {
    auth.add(key.secret, principal("globex"));  // same secret for another tenant: refused
    FAIL("duplicate key accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::AlreadyExists);
  }
  CHECK(auth.authenticate(key.secret)->tenant() == TenantId("acme"));
}

TEST_CASE("10,000 keys across 100 tenants, with revocation of every tenth", "[core][auth][concurrency]") {
  ApiKeyAuthenticator auth;
  std::vector<IssuedKey> keys;
  keys.reserve(10000);
  for (int i = 0; i < 10000; ++i) {
    keys.push_back(auth.issue(principal("tenant-" + std::to_string(i % 100), "user-" + std::to_string(i))));
  }
  CHECK(auth.size() == 10000);
  for (int i = 0; i < 10000; i += 10) REQUIRE(auth.revoke(keys[i].key_id).ok());

  std::atomic<int> wrong{0}, accepted{0}, refused{0};
  auto worker = [&](int begin, int end) {
    for (int i = begin; i < end; ++i) {
      auto r = auth.authenticate(keys[i].secret);
      if (i % 10 == 0) {
        if (r.ok() || r.error().code() != ErrorCode::Unauthenticated) ++wrong;
        ++refused;
      } else {
        if (!r.ok() || r->tenant() != TenantId("tenant-" + std::to_string(i % 100)) ||
            r->actor() != "user-" + std::to_string(i)) {
          ++wrong;
        }
        ++accepted;
      }
    }
  };
  std::thread t1(worker, 0, 5000), t2(worker, 5000, 10000);
  t1.join();
  t2.join();
  CHECK(wrong == 0);
  CHECK(accepted == 9000);
  CHECK(refused == 1000);
  CHECK(auth.keys_of(TenantId("tenant-7")).size() == 100);
  CHECK(auth.revoke("k_unknown").error().code() == ErrorCode::NotFound);
}

TEST_CASE("rotation keeps the old key valid for the overlap window only", "[core][auth]") {
  auto now = std::chrono::system_clock::now();
  ApiKeyOptions options;
  options.clock = [&now] { return now; };
  ApiKeyAuthenticator auth(options);
  auto old_key = auth.issue(principal("acme"));
  auto new_key = auth.rotate(old_key.key_id, 3600s).value();
  CHECK(new_key.secret != old_key.secret);
  CHECK(auth.authenticate(old_key.secret).ok());
  CHECK(auth.authenticate(new_key.secret)->tenant() == TenantId("acme"));

  now += 3599s;
  CHECK(auth.authenticate(old_key.secret).ok());
  now += 2s;
  CHECK(auth.authenticate(old_key.secret).error().code() == ErrorCode::Unauthenticated);
  CHECK(auth.authenticate(new_key.secret).ok());
  // An expired key cannot be rotated again.
  CHECK(auth.rotate(old_key.key_id, 10s).error().code() == ErrorCode::Unauthenticated);
  CHECK(auth.rotate("k_nope", 10s).error().code() == ErrorCode::NotFound);
}

TEST_CASE("expiring keys stop working at their expiry", "[core][auth]") {
  auto now = std::chrono::system_clock::now();
  ApiKeyOptions options;
  options.clock = [&now] { return now; };
  ApiKeyAuthenticator auth(options);
  auto key = auth.issue(principal("acme"), now + 60s);
  CHECK(auth.authenticate(key.secret).ok());
  now += 60s;
  CHECK(auth.authenticate(key.secret).error().code() == ErrorCode::Unauthenticated);
}

TEST_CASE("a principal without an actor is rejected", "[core][auth]") {
  ApiKeyAuthenticator auth;
  CHECK_THROWS_AS(auth.issue(Principal{TenantId("acme"), "", {}, {}}), Error);
}

TEST_CASE("request ids are random and deadlines come from the timeout", "[core][auth]") {
  ApiKeyAuthenticator auth;
  auto key = auth.issue(principal("acme"));
  auto a = auth.authenticate(key.secret).value();
  auto b = auth.authenticate(key.secret).value();
  CHECK(a.request_id().size() == 32);
  CHECK(a.request_id() != b.request_id());
  auto expired = auth.authenticate(key.secret, RequestOptions{"", 0ms}).value();
  CHECK(expired.expired());
}
