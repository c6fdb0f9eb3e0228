#include <catch2/catch.hpp>
#include <tenantai/core.h>

using tenantai::Error;
using tenantai::ErrorCode;
using tenantai::Result;
using tenantai::Status;

TEST_CASE("Result carries a value or an error and fails closed", "[core][error]") {
  Result<int> ok = 7;
  REQUIRE(ok.ok());
  CHECK(*ok == 7);
  CHECK_THROWS_AS(ok.error(), Error);

  Result<int> bad = Error(ErrorCode::NotFound, "no such document");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code() == ErrorCode::NotFound);
  try {
    (void)bad.value();  // an unchecked access throws the carried error, never returns garbage
    FAIL("value() on an error returned");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::NotFound);
    CHECK(std::string(e.what()) == "NotFound: no such document");
  }
}

TEST_CASE("Status and every error code have names", "[core][error]") {
  Status s;
  CHECK(s.ok());
  Status f = Error(ErrorCode::Tampered, "leaf 3 mismatch");
  CHECK_FALSE(f.ok());
  CHECK_THROWS_AS(f.throw_if_error(), Error);
  for (auto code : {ErrorCode::Unauthenticated, ErrorCode::PermissionDenied, ErrorCode::IsolationViolation,
                    ErrorCode::NotFound, ErrorCode::InvalidArgument, ErrorCode::RateLimited,
                    ErrorCode::BudgetExceeded, ErrorCode::Tampered, ErrorCode::CryptoFailure,
                    ErrorCode::StorageFailure, ErrorCode::AlreadyExists, ErrorCode::Unavailable,
                    ErrorCode::DeadlineExceeded, ErrorCode::TenantUnavailable, ErrorCode::Internal}) {
    CHECK(tenantai::to_string(code) != "Unknown");
  }
}

TEST_CASE("an error carries a retry hint only when given one, never negative", "[core][error]") {
  using namespace std::chrono_literals;
  CHECK(Error(ErrorCode::RateLimited, "slow down").retry_after() == 0ms);
  const Error hinted(ErrorCode::RateLimited, "slow down", 1500ms);
  CHECK(hinted.retry_after() == 1500ms);
  CHECK(std::string(hinted.what()) == "RateLimited: slow down");
  CHECK(Error(ErrorCode::Unavailable, "x", -5ms).retry_after() == 0ms);
  const Error copy = hinted;  // the hint survives copies (errors are rethrown across layers)
  CHECK(copy.retry_after() == 1500ms);
}
