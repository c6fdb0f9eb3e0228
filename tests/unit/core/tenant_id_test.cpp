#include <catch2/catch.hpp>
#include <tenantai/core.h>

#include <string>

using tenantai::ErrorCode;
using tenantai::TenantId;

TEST_CASE("TenantId accepts well-formed ids", "[core][tenant_id]") {
  for (const char* ok : {"a", "acme", "acme-corp", "acme_corp", "acme.eu.1", "0", "9lives"}) {
    INFO(ok);
    CHECK(TenantId::parse(ok).ok());
    CHECK(TenantId(ok).str() == ok);
  }
  CHECK(TenantId(std::string(64, 'a')).str().size() == 64);
}

TEST_CASE("TenantId rejects empty and over-long ids with a clear error", "[core][tenant_id]") {
  auto empty = TenantId::parse("");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().code() == ErrorCode::InvalidArgument);
  CHECK(empty.error().message().find("no default tenant") != std::string::npos);

  auto long_id = TenantId::parse(std::string(65, 'a'));
  REQUIRE_FALSE(long_id.ok());
  CHECK(long_id.error().message().find("65 characters") != std::string::npos);
}

TEST_CASE("TenantId rejects path separators, traversal and odd characters", "[core][tenant_id]") {
  for (const char* bad : {"../etc", "a/b", "a\\b", "..", ".hidden", "trailing-", "a..b", "Acme", "acme corp",
                          "acme:1", "-lead", "tab\tname", "acme%2f"}) {
    INFO(bad);
    auto r = TenantId::parse(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::InvalidArgument);
  }
}

TEST_CASE("TenantId rejects NUL and unicode, and the error names the input safely", "[core][tenant_id]") {
  const std::string with_nul("acme\0evil", 9);
  auto r = TenantId::parse(with_nul);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message().find("acme\\x00evil") != std::string::npos);
  CHECK(r.error().message().find("offset 4") != std::string::npos);

  auto u = TenantId::parse("caf\xc3\xa9");  // "café"
  REQUIRE_FALSE(u.ok());
  CHECK(u.error().message().find("caf\\xc3\\xa9") != std::string::npos);

  // Homoglyph: Cyrillic 'а' instead of Latin 'a' must not pass as "acme".
  CHECK_FALSE(TenantId::parse("\xd0\xb0" "cme").ok());
}

TEST_CASE("TenantId constructor throws InvalidArgument; value semantics", "[core][tenant_id]") {
  try {
    TenantId bad("Bad Tenant");
    FAIL("constructor accepted an invalid id");
  } catch (const tenantai::Error& e) {
    CHECK(e.code() == ErrorCode::InvalidArgument);
    CHECK(std::string(e.what()).rfind("InvalidArgument: ", 0) == 0);
    CHECK(e.message().find("Bad Tenant") != std::string::npos);
  }
  TenantId a("acme"), b("acme"), c("globex");
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a < c);
  CHECK(std::hash<TenantId>{}(a) == std::hash<TenantId>{}(b));
  static_assert(!std::is_default_constructible_v<TenantId>);
  static_assert(!std::is_convertible_v<std::string, TenantId>);
  static_assert(!std::is_convertible_v<const char*, TenantId>);
}

TEST_CASE("escape_for_message bounds long input", "[core][tenant_id]") {
  std::string huge(10000, 'x');
  auto r = TenantId::parse(huge);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message().size() < 300);
  CHECK(tenantai::escape_for_message(huge, 10) == "xxxxxxxxxx...");
}
