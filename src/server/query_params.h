// Query-string parameters of TenantApi routes (internal to src/server).
#pragma once

#include <cstdint>
#include <string>

#include "tenantai/server/http_server.h"

namespace tenantai::server::detail {

// The query parameter `name` as a non-negative integer (at most 18 digits), `fallback` when it is
// absent. Throws InvalidArgument naming the parameter when it is not such a number.
std::uint64_t query_number(const HttpRequest& request, const std::string& name, std::uint64_t fallback);
// The same for a parameter the route cannot do without: InvalidArgument naming it when absent.
std::uint64_t required_query_number(const HttpRequest& request, const std::string& name);

}  // namespace tenantai::server::detail
