// tenantai's version, for run-time checks by host applications.
#pragma once

#define TENANTAI_VERSION_MAJOR 0
#define TENANTAI_VERSION_MINOR 1
#define TENANTAI_VERSION_PATCH 0

namespace tenantai {
// "MAJOR.MINOR.PATCH". Never fails.
constexpr const char* version() noexcept { return "0.1.0"; }
}  // namespace tenantai
