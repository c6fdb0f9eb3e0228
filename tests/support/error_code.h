// Test helper: the ErrorCode a call throws, for one-line checks of failure categories.
#pragma once

#include <catch2/catch.hpp>
#include <tenantai/core/error.h>

#include <functional>

namespace tenantai::test_support {

// Runs `f` and returns the code of the tenantai::Error it throws. Fails the test (and returns
// Internal) when it throws nothing; other exception types propagate to Catch2.
inline ErrorCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("expected a tenantai::Error");
  return ErrorCode::Internal;
}

}  // namespace tenantai::test_support
